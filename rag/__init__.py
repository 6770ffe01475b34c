"""Retrieval-augmented Q&A over Chinese policy documents, with clause citations."""

from rag.schema import Answer, Citation, Clause, Document, Hit

__all__ = ["Answer", "Citation", "Clause", "Document", "Hit"]
