"""`scai ui`: a read-only Streamlit dashboard over the run store (pages drawn from scai.report)."""
