<?php
/**
 * Sends the browser's address to the IMAP server before login, as an RFC 2971 ID field
 * (`x-originating-ip`). Dovecot accepts it only from `login_trusted_networks`, and then applies
 * its login penalties and logs to the real client instead of to the webmail container, so one
 * attacker cannot slow down every webmail user. rcube_utils::remote_addr() is already the client:
 * Apache's mod_remoteip took it from the ReverseProxy's X-Forwarded-For.
 */
class forward_client_ip extends rcube_plugin
{
    public $task = 'login|mail|settings|addressbook';

    public function init()
    {
        $this->add_hook('storage_connect', [$this, 'storage_connect']);
    }

    public function storage_connect($args)
    {
        $ip = rcube_utils::remote_addr();
        if (filter_var($ip, FILTER_VALIDATE_IP)) {
            $ident = isset($args['preauth_ident']) && is_array($args['preauth_ident']) ? $args['preauth_ident'] : [];
            $args['preauth_ident'] = array_merge($ident, ['x-originating-ip' => $ip]);
        }
        return $args;
    }
}
