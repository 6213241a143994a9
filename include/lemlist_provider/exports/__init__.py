"""Campaign exports (pure logic): the wait for lemlist's asynchronous export, streaming the file, the summary."""

from .files import CHUNK_SIZE, CountingWriter, ExportSizeMismatch, stream_to
from .summary import campaign_ref, run_summary_line, summarise
from .wait import DEFAULT_POLL, ExportWait, check_event, done_export, export_fields

__all__ = [
    "CHUNK_SIZE", "DEFAULT_POLL", "CountingWriter", "ExportSizeMismatch", "ExportWait", "campaign_ref",
    "check_event", "done_export", "export_fields", "run_summary_line", "stream_to", "summarise",
]  # fmt: skip
