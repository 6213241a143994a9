"""lemlist webhook events in Airflow: families and their Assets, the body rules, the receiver, hook plans.

``families`` (type -> family -> Asset URI), ``payload`` (parse, verify, strip, dedupe key) and
``registration`` (declared hooks vs lemlist's, as a plan) are pure and tested without Airflow; ``store``
and ``receiver`` are the parts that run inside the Airflow API server; ``assets`` gives DAGs the Assets.
"""
