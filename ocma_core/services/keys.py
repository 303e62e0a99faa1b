"""Key rotation: re-encrypt every secret at rest with the newest key."""

from __future__ import annotations

from sqlmodel import select

from ocma_core.context import Ocma
from ocma_core.db.models import Account, OAuthState


def rotate_all(ocma: Ocma) -> int:
    """Re-encrypt tokens and PKCE verifiers in one transaction; returns how many values changed."""
    vault = ocma.vault
    count = 0
    with ocma.session() as session:
        for account in session.exec(select(Account)):
            if account.access_token_enc:
                account.access_token_enc = vault.rotate(account.access_token_enc)
                count += 1
            if account.refresh_token_enc:
                account.refresh_token_enc = vault.rotate(account.refresh_token_enc)
                count += 1
            session.add(account)
        for state in session.exec(select(OAuthState)):
            if state.verifier_enc:
                state.verifier_enc = vault.rotate(state.verifier_enc)
                session.add(state)
                count += 1
        from ocma_core.ai.settings import rotate_keys  # AI provider keys stored per workspace

        count += rotate_keys(ocma, session)
    return count
