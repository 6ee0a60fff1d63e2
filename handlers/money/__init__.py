"""Money out: contracts with payment plans, the receivable steps, 应收 with aging."""
