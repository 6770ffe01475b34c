"""A LangChain `BaseRetriever` over our clause index, so it plugs into any LangChain chain."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LangChainDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.retrieve import Retriever, SearchFilters
from rag.schema import Hit
from rag.shapes import clause_metadata


class ClauseRetriever(BaseRetriever):
    """Returns one LangChain Document per clause, with the clause metadata and citation."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    k: int = 5
    mode: str = "hybrid"
    filters: SearchFilters = SearchFilters()

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun
                                ) -> list[LangChainDocument]:
        hits = self.retriever.search(query, k=self.k, mode=self.mode, filters=self.filters)
        return [hit_to_document(hit) for hit in hits]


def hit_to_document(hit: Hit) -> LangChainDocument:
    metadata: dict[str, Any] = {**clause_metadata(hit.clause), "rank": hit.rank, "score": hit.score}
    return LangChainDocument(page_content=hit.clause.text, metadata=metadata, id=hit.clause.clause_id)
