"""Agno integration: models for `Agent(model=...)` and the `AgentRunner` on Agno.

Importing this package imports Agno (about 0.3 s): entrypoints import it lazily.
"""

from ideaforge_gateway.adapters.agno.ai_gateway_model import AIGatewayModel
from ideaforge_gateway.adapters.agno.chain_model import ProviderChainModel, RunLedger

__all__ = ["AIGatewayModel", "ProviderChainModel", "RunLedger"]
