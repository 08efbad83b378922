"""The .xlsx package: one module per part, on a streaming zip writer; packager.py lists the parts in order."""
