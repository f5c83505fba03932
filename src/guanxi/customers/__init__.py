"""The customer database: customers, contacts, tags, consent, search, import and export."""
