"""Data catalogues of the citizen services (programmes.yaml); a package so it ships with the code."""
