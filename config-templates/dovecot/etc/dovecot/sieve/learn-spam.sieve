# imapsieve: a message was copied or moved into Junk -> teach spamd it is spam.
require ["vnd.dovecot.pipe", "copy", "imapsieve"];

pipe :copy "learn" ["spam", "{{ spamdHost }}", "{{ spamdPort }}"];
