"""Customers and contacts in and out of files: import (CSV, XLSX, vCard) with column mapping,
resumable atomic batches and error reports; export to CSV, XLSX and vCard."""
