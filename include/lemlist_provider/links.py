"""The "lemlist campaign" extra link: a button on every lemlist task that opens its campaign in lemlist's app.

Registered by ``plugins/lemlist_plugin.py`` for the provider's operators and sensors. In Airflow 3 a link
registered by a plugin is computed by the **API server** when the UI asks for it (``get_link`` receives the
serialized operator, whose templated fields are not rendered, and the task instance key), while a link
declared on an operator class is computed by the **worker** when the task ends and stored in XCom. So the
campaign id is looked up in an order that works in both places:

1. the operator's ``campaign_id`` attribute, when it is a literal ``cam_...`` (not a Jinja template);
2. the XCom ``lemlist_campaign_id`` the task pushed (operators whose campaign comes from elsewhere, such as
   a mapped import batch, push it);
3. the task's rendered template field ``campaign_id`` (API server only: templated ids such as
   ``"{{ params.campaign_id }}"``).

No campaign id gives an empty URL, which the UI shows as a disabled button.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

log = logging.getLogger(__name__)

LEMLIST_APP_URL = "https://app.lemlist.com"
CAMPAIGN_XCOM_KEY = "lemlist_campaign_id"
LINK_NAME = "lemlist campaign"


def campaign_url(campaign_id: str) -> str:
    """The campaign's page in lemlist's web app."""
    return f"{LEMLIST_APP_URL}/campaigns/{quote(campaign_id, safe='')}"


def _as_campaign_id(value: Any) -> str | None:
    """A usable campaign id, or ``None`` for templates, empty values and anything that is not ``cam_...``."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value.startswith("cam_") or "{{" in value or "{%" in value:
        return None
    return value


def _in_task_process() -> bool:
    """True inside a running task (worker or ``dag.test``), where XCom is reached through the task SDK."""
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:  # pragma: no cover - Airflow without the task SDK
        return False
    return getattr(task_runner, "SUPERVISOR_COMMS", None) is not None


def _xcom_from_task(ti_key: TaskInstanceKey, key: str) -> Any:
    from airflow.sdk.execution_time.xcom import XCom

    return XCom.get_value(ti_key=ti_key, key=key)


def _xcom_from_db(ti_key: TaskInstanceKey, key: str) -> Any:
    """The API server has no task SDK channel: read the XCom row as ``XComOperatorLink`` does."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.execute(
            XComModel.get_many(
                key=key,
                run_id=ti_key.run_id,
                dag_ids=ti_key.dag_id,
                task_ids=ti_key.task_id,
                map_indexes=ti_key.map_index,
            ).with_only_columns(XComModel.value)
        ).first()
    if not row:
        return None
    value = row.value
    try:
        return json.loads(value) if isinstance(value, (str, bytes)) else value
    except ValueError:
        return value


def _rendered_campaign_id(ti_key: TaskInstanceKey) -> Any:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields

    fields = RenderedTaskInstanceFields.get_templated_fields(ti_key) or {}
    return fields.get("campaign_id")


class LemlistCampaignLink(BaseOperatorLink):
    """Opens ``https://app.lemlist.com/campaigns/<campaign id>`` for the task's campaign."""

    name = LINK_NAME

    @property
    def operators(self) -> list[type]:  # type: ignore[override]
        """The classes the plugin attaches the link to; resolved lazily, only where links are shown."""
        return lemlist_operator_classes()

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        campaign_id = _as_campaign_id(getattr(operator, "campaign_id", None))
        if campaign_id is None:
            campaign_id = self._lookup(ti_key)
        return campaign_url(campaign_id) if campaign_id else ""

    @staticmethod
    def _lookup(ti_key: TaskInstanceKey) -> str | None:
        """XCom first, then the rendered field; a lookup error must never break the task page."""
        try:
            if _in_task_process():
                return _as_campaign_id(_xcom_from_task(ti_key, CAMPAIGN_XCOM_KEY))
            return _as_campaign_id(_xcom_from_db(ti_key, CAMPAIGN_XCOM_KEY)) or _as_campaign_id(
                _rendered_campaign_id(ti_key)
            )
        except Exception:  # the UI shows a disabled button rather than an error page
            log.debug("lemlist campaign link: no campaign id for %s", ti_key, exc_info=True)
            return None


@functools.cache
def lemlist_operator_classes() -> list[type]:
    """Every operator and sensor class of the provider (the tasks that get the campaign button): the
    subclasses of its base task, once the modules ``get_provider_info()`` lists are imported. A module that
    fails to import is skipped with a warning: one broken module must not take the plugin (and every other
    link) down."""
    import importlib

    from lemlist_provider import get_provider_info
    from lemlist_provider.operators.base import LemlistTaskMixin

    info = get_provider_info()
    for module_name in (m for layer in ("operators", "sensors") for m in info[layer][0]["python-modules"]):
        try:
            importlib.import_module(module_name)
        except Exception:
            log.warning("lemlist campaign link: cannot import %s", module_name, exc_info=True)
    classes, todo = [], list(LemlistTaskMixin.__subclasses__())
    while todo:
        cls = todo.pop(0)
        classes.append(cls)
        todo += cls.__subclasses__()
    return [c for c in classes if c.__module__.startswith("lemlist_provider.")]
