"""``LemcalHook``: lemcal (lemlist's scheduling product) with the same transport, pacing and error policy.

lemcal authenticates with ``userId:apiKey`` (login = user id, password = key); its base URL is
``https://api.lemcal.com/api/lemcal`` (in the sandbox: ``{base_url}/lemcal``). Same 20 requests / 2 s.
"""

from __future__ import annotations

from typing import Any

from .lemlist import LemlistHook


class LemcalHook(LemlistHook):
    conn_name_attr = "lemcal_conn_id"
    default_conn_name = "lemcal_default"
    conn_type = "lemcal"
    hook_name = "lemcal"
    default_host = "https://api.lemcal.com/api/lemcal"
    login_required = True

    def __init__(self, lemcal_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(lemlist_conn_id=lemcal_conn_id, **kwargs)
        self.lemcal_conn_id = lemcal_conn_id

    def list_meetings(self, meeting_type_id: str | None = None) -> list:
        return self.request(
            "GET", "/meetings", params={"meetingTypeId": meeting_type_id} if meeting_type_id else None
        )

    def list_meeting_types(self) -> list:
        return self.request("GET", "/meeting-types")

    def create_hook(
        self, target_url: str, *, meeting_type_id: str | None = None, any_meeting_type: bool | None = None
    ) -> dict:
        """A second identical hook answers 409 "Duplicate hook" (``LemlistClientError``)."""
        body: dict[str, Any] = {"targetUrl": target_url}
        if meeting_type_id:
            body["meetingTypeId"] = meeting_type_id
        if any_meeting_type is not None:
            body["anyMeetingType"] = any_meeting_type
        return self.request("POST", "/hooks", json=body)

    def delete_hook(self, hook_id: str) -> Any:
        return self.request("DELETE", "/hooks/{hook_id}", path_params={"hook_id": hook_id})

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.list_meeting_types()
        except Exception as exc:
            return False, self._scrub(str(exc))
        return True, "Connected to lemcal"
