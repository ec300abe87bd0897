# imapsieve: a message was copied or moved out of Junk -> teach spamd it is ham, unless it went to
# Trash (throwing spam away is not a verdict on it).
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables"];

if environment :is "imap.mailbox" "Trash" {
  stop;
}

pipe :copy "learn" ["ham", "{{ spamdHost }}", "{{ spamdPort }}"];
