"""E-mail to and from customers: sending through SMTP, reading mailboxes, templates and the
administrator's mail settings."""
