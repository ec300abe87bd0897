<?php
// Sieve filters (vacation, forwarding, sorting) edited in Roundcube, stored by Dovecot's
// ManageSieve. Options: plugins/managesieve/config.inc.php.dist of Roundcube 1.6.
$config = [];
// tls:// = STARTTLS, verified like IMAP: Dovecot refuses plaintext authentication without it.
$config['managesieve_host'] = {{ managesieveHost }};
$config['managesieve_conn_options'] = {{ tlsOptions }};
$config['managesieve_vacation'] = 1;
$config['managesieve_forward'] = 1;
