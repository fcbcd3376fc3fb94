"""Home of the filing/approval workflow engine. Built with the filings issue."""
