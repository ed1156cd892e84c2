"""Console navigation entries of the enterprise app: each part lists its own."""

from quanwang.enterprise.accounts.nav import ITEMS as ACCOUNTS
from quanwang.enterprise.grading.nav import ITEMS as GRADING
from quanwang.enterprise.persons.nav import ITEMS as PERSONS
from quanwang.enterprise.pipeline.nav import ITEMS as PIPELINE
from quanwang.enterprise.work.nav import ITEMS as WORK

ITEMS = [*ACCOUNTS, *PERSONS, *GRADING, *WORK, *PIPELINE]
