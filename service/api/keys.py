"""API keys (admin only): create, list, revoke."""

from __future__ import annotations

from fastapi import APIRouter

from service import crud
from service.deps import AdminKey, SessionDep
from service.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, ApiKeysPublic

router = APIRouter(prefix="/keys", tags=["keys"])


@router.get("", response_model=ApiKeysPublic)
def list_keys(session: SessionDep, _principal: AdminKey) -> ApiKeysPublic:
    """Every key, without secrets."""
    rows = crud.list_api_keys(session=session)
    return ApiKeysPublic(data=[ApiKeyPublic.model_validate(r) for r in rows], count=len(rows))


@router.post("", response_model=ApiKeyCreated, status_code=201)
def create_key(key_in: ApiKeyCreate, session: SessionDep, _principal: AdminKey) -> ApiKeyCreated:
    """Create a key; the secret is in this response only."""
    row, secret = crud.create_api_key(
        session=session, role=key_in.role, name=key_in.name, region_ids=key_in.region_ids
    )
    session.commit()
    return ApiKeyCreated.model_validate(
        {**ApiKeyPublic.model_validate(row).model_dump(), "key": secret}
    )


@router.delete("/{key_id}", response_model=ApiKeyPublic)
def revoke_key(key_id: int, session: SessionDep, _principal: AdminKey) -> ApiKeyPublic:
    """Deactivate a key."""
    row = crud.revoke_api_key(session=session, key_id=key_id)
    session.commit()
    return ApiKeyPublic.model_validate(row)
