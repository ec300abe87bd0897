#!/usr/bin/perl
# Creates SpamAssassin's Bayes tables in MariaDB when they are missing (first start of a new
# platform). The database account comes from SpamAssassin's own parsed config, so there is one
# source of truth. Waits for the database for up to BAYES_DB_WAIT seconds (default 120); exits
# non-zero after that, and the restart policy tries again.
use strict;
use warnings;
use DBI;
use Mail::SpamAssassin;

my $schema = '/usr/share/doc/spamassassin/sql/bayes_mysql.sql';
my $wait = $ENV{BAYES_DB_WAIT} // 120;

# use_bayes 0: read the settings without SpamAssassin opening the (maybe still empty) store.
my $sa = Mail::SpamAssassin->new({ local_tests_only => 1, dont_copy_prefs => 1, post_config_text => "use_bayes 0\n" });
$sa->init(0);
my $conf = $sa->{conf};
my ($dsn, $user, $pass) = map { $conf->{$_} } qw(bayes_sql_dsn bayes_sql_username bayes_sql_password);
if (($conf->{bayes_store_module} // '') !~ /SQL/ || !$dsn) {
  print "bayes-schema: Bayes is not stored in SQL, nothing to do\n";
  exit 0;
}

my $dbh;
my $deadline = time + $wait;
while (1) {
  $dbh = DBI->connect($dsn, $user, $pass, { RaiseError => 0, PrintError => 0, AutoCommit => 1 });
  last if $dbh;
  if (time >= $deadline) { print STDERR "bayes-schema: cannot connect to $dsn as $user: $DBI::errstr\n"; exit 1 }
  sleep 2;
}

my ($found) = $dbh->selectrow_array(
  "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'bayes_vars'");
if ($found) {
  print "bayes-schema: Bayes tables present\n";
  exit 0;
}

open(my $fh, '<', $schema) or die "bayes-schema: $schema: $!\n";
my $sql = do { local $/; <$fh> };
close $fh;
$dbh->{RaiseError} = 1;
for my $statement (grep { /\S/ } split /;\s*\n/, $sql) {
  $dbh->do($statement);
}
print "bayes-schema: created the Bayes tables from $schema\n";
exit 0;
