"""Exports: the unified T-13 form (XLSX), the invoice basis (XLSX, CSV), summaries."""
