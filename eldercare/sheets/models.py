"""Home of the spreadsheet engine (import batches, staged rows). Built with the registry issue;
the plain `regions` loader lives in eldercare.regions.loader until then."""
