"""Note extraction: a rep's one-sentence follow-up note → a structured log with sources."""

from handlers.extraction.corrections import apply_correction
from handlers.extraction.customers import CustomerLink, find_customer, link_customer
from handlers.extraction.dates import parse_due
from handlers.extraction.engine import RuleExtractor, warm_up
from handlers.extraction.log_lines import format_due, format_log
from handlers.extraction.model import (
    DEFAULT_STAGES,
    CustomerRef,
    Due,
    Extraction,
    Extractor,
    Found,
)
from handlers.extraction.notes import extract_note

__all__ = [
    "DEFAULT_STAGES",
    "CustomerLink",
    "CustomerRef",
    "Due",
    "Extraction",
    "Extractor",
    "Found",
    "RuleExtractor",
    "apply_correction",
    "extract_note",
    "find_customer",
    "format_due",
    "format_log",
    "link_customer",
    "parse_due",
    "warm_up",
]
