"""Reading user data: JSONL/CSV files with named columns, or bundled lab datasets."""

from biaskit.data.tables import Table, load_table, read_rows

__all__ = ["Table", "load_table", "read_rows"]
