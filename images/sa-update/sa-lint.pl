#!/usr/bin/perl
# sa-lint.pl STATE_DIR
# `spamassassin --lint` against rules that are not published yet: STATE_DIR stands in for
# /var/lib/spamassassin, so both the rules (STATE_DIR/<version>) and the compiled body rules
# (STATE_DIR/compiled/...) are the staged ones, read with the platform's site config
# (/etc/spamassassin, as Amavis and spamd read it). Prints how many compiled rules it could use;
# exits 0 when the lint found no error.
use strict;
use warnings;
use Mail::SpamAssassin;

my $state = shift or die "usage: sa-lint.pl STATE_DIR\n";
chdir '/' or die "chdir /: $!\n";    # './rules' is first on SpamAssassin's rules path
my $sa = Mail::SpamAssassin->new({
  PREFIX          => '/usr',
  DEF_RULES_DIR   => '/usr/share/spamassassin',
  LOCAL_RULES_DIR => '/etc/spamassassin',
  LOCAL_STATE_DIR => $state,
  local_tests_only => 1,
  dont_copy_prefs  => 1,
  debug            => 'zoom',
  # Bayes is MariaDB, which the updater has no account for; the rules do not depend on it.
  post_config_text => "use_bayes 0\n",
});
my $errors = $sa->lint_rules();
$sa->finish();
print "sa-lint: $errors error(s) in the rules under $state\n";
exit($errors ? 1 : 0);
