"""Route groups. Every module here that defines ``router`` (a FastAPI ``APIRouter``) is mounted under ``/api``.

Conventions for route modules:
- handlers are ``async def`` (one event loop, no locks needed) and take ``team: Team = Depends(current_team)``;
- errors are raised as ``LemlistError`` (text/plain by default, JSON where the spec says so);
- responses match the operation's response schema in ``openapi-v2.json``.
"""
