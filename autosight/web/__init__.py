"""The HTTP side of AutoSight (``python api.py``): REST API, dashboard, uploads and scheduled ingestion.

Every figure comes from the same analysis and report-building code as ``main.py``; this package only
selects, pages and serves it.
"""
