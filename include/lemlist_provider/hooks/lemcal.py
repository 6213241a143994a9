"""``LemcalHook``: lemcal (lemlist's scheduling product) over the same transport, pacing and error policy.

lemcal authenticates with ``userId:apiKey`` (login = user id, password = key); its base URL is
``https://api.lemcal.com/api/lemcal`` (in the sandbox: ``{base_url}/lemcal``). Same 20 requests / 2 s.
Its surface is lemcal's own routes (``lemcal-reference.txt``); none of lemlist's exist there.
"""

from __future__ import annotations

from typing import Any

from .lemlist import LemlistBaseHook
from .policy import RetryConfig


class LemcalHook(LemlistBaseHook):
    """Sync hook for lemcal: meetings, meeting types and hooks.

    :param lemcal_conn_id: connection of type ``lemcal`` (login = user id, password = API key)
    :param retry_config: attempts, backoff and the cap on total 429 waiting per call
    """

    conn_name_attr = "lemcal_conn_id"
    default_conn_name = "lemcal_default"
    conn_type = "lemcal"
    hook_name = "lemcal"
    default_host = "https://api.lemcal.com/api/lemcal"
    login_required = True
    probe_route = "/meeting-types"

    def __init__(
        self, lemcal_conn_id: str = default_conn_name, *, retry_config: RetryConfig | None = None
    ) -> None:
        super().__init__(lemcal_conn_id, retry_config=retry_config)
        self.lemcal_conn_id = lemcal_conn_id

    def list_meetings(self, meeting_type_id: str | None = None) -> list:
        """``GET /meetings``: every meeting, of the meeting type ``meeting_type_id`` only when given."""
        return self._route(
            "GET /meetings", params={"meetingTypeId": meeting_type_id} if meeting_type_id else None
        )

    def list_meeting_types(self) -> list:
        """``GET /meeting-types``."""
        return self._route("GET /meeting-types")

    def create_hook(
        self, target_url: str, *, meeting_type_id: str | None = None, any_meeting_type: bool | None = None
    ) -> dict:
        """``POST /hooks``: call ``target_url`` for the meeting type ``meeting_type_id``, or for any with
        ``any_meeting_type``. A second identical hook answers 409 "Duplicate hook" (``LemlistClientError``)."""
        body: dict[str, Any] = {"targetUrl": target_url}
        if meeting_type_id:
            body["meetingTypeId"] = meeting_type_id
        if any_meeting_type is not None:
            body["anyMeetingType"] = any_meeting_type
        return self._route("POST /hooks", json=body)

    def delete_hook(self, hook_id: str) -> Any:
        """``DELETE /hooks/{id}``: the hook ``hook_id`` (``hoo_...``)."""
        return self._route("DELETE /hooks/{hook_id}", hook_id)
