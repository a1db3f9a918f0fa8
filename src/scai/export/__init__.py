"""A run in the field's formats: its metrics as TensorBoard event files (`export_tensorboard`),
its data as a Hugging Face dataset, Parquet or JSONL with a dataset card (`export_dataset`).

Both read the store read-only (scai.report.reader) and the files a run left in its folder.
`scai runs export RUN --format tensorboard|hf-dataset|dataset-parquet|dataset-jsonl` is the CLI.
"""

from scai.export.dataset import DATASET_FORMATS, config_hash, export_dataset
from scai.export.tables import DatasetTable, dataset_tables
from scai.export.tensorboard import Scalar, export_tensorboard, run_scalars

__all__ = ["DATASET_FORMATS", "DatasetTable", "Scalar", "config_hash", "dataset_tables",
           "export_dataset", "export_tensorboard", "run_scalars"]
