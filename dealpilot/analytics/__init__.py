"""Analytics: the funnel, email performance, A/B tests, engagement and revenue, over a date
range and the caller's brands, for the console's analytics page and `/api/crm/analytics/`.
Read-only; each section is a handful of grouped queries over rollups (`emaildaily`,
`dealstagevisit`) and indexed columns, whatever the number of deals and emails."""

from dealpilot.analytics.abtests import ABTests, ab_tests
from dealpilot.analytics.emails import EmailPerformance, email_performance
from dealpilot.analytics.engagement import Engagement, engagement
from dealpilot.analytics.exports import Table, pick, tables, to_csv
from dealpilot.analytics.filters import Filters, resolve
from dealpilot.analytics.funnel import Funnel, funnel
from dealpilot.analytics.revenue import DEFAULT_PROBABILITY, Pricing, Revenue, probability, revenue
from dealpilot.analytics.sections import SECTIONS, compute

__all__ = [
    "DEFAULT_PROBABILITY",
    "SECTIONS",
    "ABTests",
    "EmailPerformance",
    "Engagement",
    "Filters",
    "Funnel",
    "Pricing",
    "Revenue",
    "Table",
    "ab_tests",
    "compute",
    "email_performance",
    "engagement",
    "funnel",
    "pick",
    "probability",
    "resolve",
    "revenue",
    "tables",
    "to_csv",
]
