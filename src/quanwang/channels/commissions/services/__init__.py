"""Commission rules (酬金规则) and monthly statements (酬金结算单)."""
