"""Enterprise customers (集团/政企客户): one Django app in parts, like `quanwang.channels`.

- `accounts`: the account file synced from the warehouse's `enterprises` table, the
  hierarchy (集团 → 分支), ownership (片警 / 刑警) and account teams, products held, merges,
  members rolled up, the account 360 page and the enterprise dashboard;
- `persons`: key persons (关键人), their roles on accounts, ratings, the relationship map and
  care moments (关怀);
- `grading`: account features, switching cost and churn risk, the A/B/C grading with its
  explanation and what it drives (visit frequency, manager grade, service level);
- `work`: account managers' grades and portfolios, visit plans and logs, appraisal facts;
- `pipeline`: opportunities, the pipeline board, the industry product catalogue and orders.

Each part keeps `services.py` (or a `services/` package), `views.py`, `urls.py`, `nav.py`,
`demo.py` and, when it adds to another part's page, `sections.py`. Models live in
`enterprise/models/<part>.py`.
"""
