# Global rule at delivery: mail Amavis tagged as spam goes to Junk.
require ["fileinto", "mailbox"];

if header :is "X-Spam-Flag" "YES" {
  fileinto :create "Junk";
  stop;
}
