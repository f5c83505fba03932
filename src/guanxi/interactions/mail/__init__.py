"""E-mail to and from customers: sending through SMTP (``service``), templates with the
customer's fields (``templates``), reading mailboxes (``inbound``, ``jobs``) and the
administrator's mail settings (``admin_settings``)."""
