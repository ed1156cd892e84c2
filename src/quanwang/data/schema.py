"""The canonical operator tables: one definition that importers, the generator, the warehouse
and docs/data-model.md all read. Labels are Chinese and English; the Chinese one comes first
because that is what operators' exports and users say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ColumnType(StrEnum):
    STRING = "string"
    INT = "int64"
    FLOAT = "float64"
    MONEY = "money"  # yuan, two decimals; importers accept fen with a mapping
    DATE = "date"
    BOOL = "bool"


class LoadMode(StrEnum):
    """How a newer extract of a table lands: it replaces the table, or upserts by its key."""

    REPLACE = "replace"
    UPSERT = "upsert"


class TextFormat(StrEnum):
    """A text column whose values have one written form: the importer normalises each value to
    it or quarantines the row (data.values)."""

    MSISDN = "msisdn"  # 11 digits starting with 1: 13800138000
    MONTH = "month"  # YYYY-MM: 2024-06
    # 统一社会信用代码 (GB 32100-2015): 18 characters of 0-9 and A-Y without I O S V Z, the last
    # a check character over the first 17 (data.credit_codes); stored in capitals.
    CREDIT_CODE = "credit_code"


class Pii(StrEnum):
    MSISDN = "msisdn"
    NAME = "name"
    ID_NUMBER = "id_number"
    OPENID = "openid"  # identifies the person to the operator's WeChat official account


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    zh: str
    en: str
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    references: tuple[str, str] | None = None  # (table, column)
    pii: Pii | None = None
    not_future: bool = False  # a date that cannot lie after the import day
    format: TextFormat | None = None  # text columns only
    # Other headers operators' CRM exports give the column (客户编码 for 集团编码): matched like
    # the labels, after them, so a label always wins (data.mapping).
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.format is not None and self.type is not ColumnType.STRING:
            raise ValueError(f"{self.name}: a format is for text columns only")


@dataclass(frozen=True)
class Table:
    name: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    mode: LoadMode = LoadMode.UPSERT
    description: str = ""
    # A column naming the row's parent by the table's (single-column) key: the rows form a
    # forest, and an import that would close a cycle is refused whole (data.table_rules).
    parent: str | None = None
    # A column the key's rows belong to: one file naming a key under two of its values (a
    # member in two enterprises) is refused whole, not a duplicate quarantined (data.table_rules).
    belongs_to: str | None = None
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})
        missing = [k for k in self.key if k not in self.by_name]
        if missing:
            raise ValueError(f"{self.name}: key columns {missing} are not columns")
        for extra in (self.parent, self.belongs_to):
            if extra is not None and extra not in self.by_name:
                raise ValueError(f"{self.name}: {extra} is not a column")


MSISDN, MONTH, CREDIT_CODE = TextFormat.MSISDN, TextFormat.MONTH, TextFormat.CREDIT_CODE
STR, INT, FLT, MON, DAT, BOOL = (
    ColumnType.STRING,
    ColumnType.INT,
    ColumnType.FLOAT,
    ColumnType.MONEY,
    ColumnType.DATE,
    ColumnType.BOOL,
)
OPERATORS = ("本网", "移动", "联通", "电信", "广电")
STORE_TYPES = ("自营厅", "社会渠道", "代理商", "合作店")
STORE_GRADES = ("重点店", "钉子店", "芝麻店")
PARTNER_STAGES = ("拉郎配", "谈恋爱", "过日子")
SALE_KINDS = ("销售", "退款", "冲正")
COMPETITORS = OPERATORS[1:]
ENTERPRISE_STATUSES = ("正常", "停业", "注销")
ENTERPRISE_PRODUCTS = ("集团V网", "专线", "物联网", "云", "5G专网", "集团短信", "彩铃")
ORDER_KINDS = ("新装", "变更", "拆机", "故障", "咨询")
ORDER_STATUSES = ("受理中", "处理中", "已完成", "已撤销")
# The headers CRM exports give an enterprise's code where the file is about enterprises.
ENTERPRISE_ID_ALIASES = ("集团客户编码", "客户编码", "集团号")
PRODUCT_ALIASES = ("产品名称", "业务名称")


def enterprise_ref(**extra: Any) -> Column:
    return c(
        "enterprise_id",
        STR,
        "集团编码",
        "Enterprise ID",
        required=True,
        references=("enterprises", "enterprise_id"),
        aliases=ENTERPRISE_ID_ALIASES,
        **extra,
    )


def c(name: str, kind: ColumnType, zh: str, en: str, **extra: Any) -> Column:
    return Column(name, kind, zh, en, **extra)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "org_units",
            "组织机构",
            "Org units",
            (
                c("code", STR, "编码", "Code", required=True),
                c("name", STR, "名称", "Name", required=True),
                c(
                    "level",
                    STR,
                    "层级",
                    "Level",
                    required=True,
                    choices=("group", "city", "county", "grid"),
                ),
                c("parent_code", STR, "上级编码", "Parent code"),
            ),
            key=("code",),
            mode=LoadMode.REPLACE,
        ),
        Table(
            "grids",
            "网格",
            "Grids",
            (
                c("grid_id", STR, "网格编码", "Grid ID", required=True),
                c("name", STR, "网格名称", "Grid name", required=True),
                c(
                    "grid_type",
                    STR,
                    "网格类型",
                    "Grid type",
                    required=True,
                    choices=("沿街", "行业", "校园", "园区", "农村"),
                ),
                c("county_code", STR, "所属区县", "County code", required=True),
                c("manager_employee_no", STR, "网格长工号", "Grid manager employee no."),
                c("centroid_lat", FLT, "中心纬度", "Centroid latitude", minimum=-90, maximum=90),
                c("centroid_lon", FLT, "中心经度", "Centroid longitude", minimum=-180, maximum=180),
                c("boundary_wkt", STR, "边界(WKT)", "Boundary (WKT polygon)"),
            ),
            key=("grid_id",),
            mode=LoadMode.REPLACE,
        ),
        Table(
            "plans",
            "套餐",
            "Plans",
            (
                c("plan_id", STR, "套餐编码", "Plan ID", required=True),
                c("name", STR, "套餐名称", "Plan name", required=True),
                c(
                    "plan_type",
                    STR,
                    "套餐类型",
                    "Plan type",
                    required=True,
                    choices=("prepaid", "postpaid", "broadband", "iptv", "bundle"),
                ),
                c("monthly_fee", MON, "月费(元)", "Monthly fee (yuan)", required=True, minimum=0),
                c("data_gb", FLT, "流量(GB)", "Data allowance (GB)", minimum=0),
                c("voice_minutes", INT, "语音(分钟)", "Voice allowance (minutes)", minimum=0),
                c("is_5g", BOOL, "5G套餐", "5G plan", required=True),
            ),
            key=("plan_id",),
            mode=LoadMode.REPLACE,
        ),
        Table(
            "subscribers",
            "用户",
            "Subscribers",
            (
                c("subscriber_id", STR, "用户编号", "Subscriber ID", required=True),
                c(
                    "msisdn",
                    STR,
                    "手机号码",
                    "MSISDN",
                    required=True,
                    pii=Pii.MSISDN,
                    format=MSISDN,
                ),
                c("name", STR, "姓名", "Name", pii=Pii.NAME),
                c("gender", STR, "性别", "Gender", choices=("男", "女")),
                c("birth_date", DAT, "出生日期", "Birth date", not_future=True),
                c(
                    "segment",
                    STR,
                    "客户类型",
                    "Segment",
                    required=True,
                    choices=("个人", "家庭", "政企"),
                ),
                c(
                    "payment_type",
                    STR,
                    "付费类型",
                    "Payment type",
                    required=True,
                    choices=("prepaid", "postpaid"),
                ),
                c("join_date", DAT, "入网日期", "Join date", required=True, not_future=True),
                c(
                    "status",
                    STR,
                    "状态",
                    "Status",
                    required=True,
                    choices=("active", "suspended", "churned"),
                ),
                c("churn_date", DAT, "离网日期", "Churn date"),
                c("churn_reason", STR, "离网原因", "Churn reason"),
                c(
                    "plan_id",
                    STR,
                    "套餐编码",
                    "Plan ID",
                    required=True,
                    references=("plans", "plan_id"),
                ),
                c("contract_end_date", DAT, "合约到期日", "Contract end date"),
                c("discount_end_date", DAT, "优惠到期日", "Discount end date"),
                c("device_model", STR, "终端型号", "Device model"),
                c("device_5g", BOOL, "5G终端", "5G device"),
                c(
                    "dual_sim_role",
                    STR,
                    "双卡角色",
                    "Dual-SIM role",
                    choices=("single", "primary", "secondary"),
                ),
                c("grid_id", STR, "网格编码", "Grid ID", references=("grids", "grid_id")),
                # Where the customer lives or is billed, when the operator knows it: the
                # nightly pipeline assigns such customers to the grid whose polygon holds them.
                c("lat", FLT, "纬度", "Latitude", minimum=-90, maximum=90),
                c("lon", FLT, "经度", "Longitude", minimum=-180, maximum=180),
                c("acquisition_channel", STR, "入网渠道", "Acquisition channel"),
                c(
                    "enterprise_id",
                    STR,
                    "集团编码",
                    "Enterprise ID",
                    references=("enterprises", "enterprise_id"),
                ),
                c("family_id", STR, "家庭/融合组编码", "Family/bundle group ID"),
                c("consent_sms", BOOL, "短信营销许可", "SMS marketing consent"),
                c("consent_wechat", BOOL, "微信营销许可", "WeChat marketing consent"),
                c("consent_app", BOOL, "App营销许可", "App marketing consent"),
                c("consent_call", BOOL, "外呼营销许可", "Outbound-call marketing consent"),
                c("do_not_disturb", BOOL, "免打扰", "Do not disturb"),
                # Only followers of the account have one; older exports have no such column.
                c(
                    "wechat_openid",
                    STR,
                    "微信OpenID",
                    "WeChat openid (official account)",
                    pii=Pii.OPENID,
                ),
            ),
            key=("subscriber_id",),
        ),
        Table(
            "monthly_usage",
            "月度使用",
            "Monthly usage",
            (
                c(
                    "subscriber_id",
                    STR,
                    "用户编号",
                    "Subscriber ID",
                    required=True,
                    references=("subscribers", "subscriber_id"),
                ),
                c("month", STR, "账期(YYYY-MM)", "Month (YYYY-MM)", required=True, format=MONTH),
                c(
                    "arpu",
                    MON,
                    "出账收入(元)",
                    "Billed amount = ARPU (yuan)",
                    required=True,
                    minimum=0,
                ),
                c("mou", FLT, "通话分钟(MOU)", "Minutes of use (MOU)", minimum=0),
                c("dou_gb", FLT, "流量(DOU,GB)", "Data of use (DOU, GB)", minimum=0),
                c("onnet_minutes", FLT, "网内通话分钟", "On-net minutes", minimum=0),
                c("offnet_minutes", FLT, "网外通话分钟", "Off-net minutes", minimum=0),
                c("overage_fee", MON, "超套费(元)", "Overage fee (yuan)", minimum=0),
                c("arrears", MON, "欠费(元)", "Arrears (yuan)", minimum=0),
                c("used_5g_network", BOOL, "使用5G网络", "Used the 5G network"),
                c("plan_saturation", FLT, "套餐饱和度", "Plan saturation", minimum=0),
            ),
            key=("subscriber_id", "month"),
        ),
        Table(
            "recharges",
            "充值",
            "Recharges",
            (
                c("recharge_id", STR, "充值流水号", "Recharge ID", required=True),
                c(
                    "subscriber_id",
                    STR,
                    "用户编号",
                    "Subscriber ID",
                    required=True,
                    references=("subscribers", "subscriber_id"),
                ),
                c("recharge_date", DAT, "充值日期", "Recharge date", required=True),
                c("amount", MON, "金额(元)", "Amount (yuan)", required=True, minimum=0),
                c("channel", STR, "充值渠道", "Channel"),
            ),
            key=("recharge_id",),
        ),
        Table(
            "contacts",
            "通话交往圈",
            "Call-record edges",
            (
                c(
                    "subscriber_id",
                    STR,
                    "用户编号",
                    "Subscriber ID",
                    required=True,
                    references=("subscribers", "subscriber_id"),
                ),
                c("month", STR, "账期(YYYY-MM)", "Month (YYYY-MM)", required=True, format=MONTH),
                c("peer_hash", STR, "对端号码哈希", "Peer number hash", required=True),
                c(
                    "peer_operator",
                    STR,
                    "对端运营商",
                    "Peer operator",
                    required=True,
                    choices=OPERATORS,
                ),
                c("calls", INT, "通话次数", "Calls", minimum=0),
                c("minutes", FLT, "通话分钟", "Minutes", minimum=0),
                c("sms", INT, "短信条数", "SMS", minimum=0),
            ),
            key=("subscriber_id", "month", "peer_hash"),
        ),
        Table(
            "complaints",
            "投诉",
            "Complaints",
            (
                c("complaint_id", STR, "工单号", "Complaint ID", required=True),
                c(
                    "subscriber_id",
                    STR,
                    "用户编号",
                    "Subscriber ID",
                    required=True,
                    references=("subscribers", "subscriber_id"),
                ),
                c("created_date", DAT, "投诉日期", "Date", required=True),
                c("category", STR, "投诉类别", "Category", required=True),
                c("level", STR, "级别", "Level", required=True, choices=("普通", "重要", "重大")),
                c("channel", STR, "受理渠道", "Channel"),
                c("resolved", BOOL, "已解决", "Resolved"),
            ),
            key=("complaint_id",),
        ),
        Table(
            "enterprises",
            "政企客户",
            "Enterprises",
            (
                c(
                    "enterprise_id",
                    STR,
                    "集团编码",
                    "Enterprise ID",
                    required=True,
                    aliases=ENTERPRISE_ID_ALIASES,
                ),
                c("name", STR, "集团名称", "Name", required=True, aliases=("客户名称",)),
                c("industry", STR, "行业", "Industry", required=True),
                c("size", INT, "员工规模", "Employees", minimum=0),
                c("grid_id", STR, "网格编码", "Grid ID", references=("grids", "grid_id")),
                c("grade", STR, "价值等级", "Grade", choices=("A", "B", "C")),
                c("lat", FLT, "纬度", "Latitude", minimum=-90, maximum=90),
                c("lon", FLT, "经度", "Longitude", minimum=-180, maximum=180),
                # The staff member (员工工号) who serves the account; older exports have no
                # such column. Campaign task steps can go to this account manager's list.
                c(
                    "account_manager_employee_no",
                    STR,
                    "客户经理工号",
                    "Account manager employee no.",
                ),
                # The 集团 a branch (分支/下属单位) belongs to; blank for a top-level account.
                # Older exports have none of the three columns below.
                c(
                    "parent_enterprise_id",
                    STR,
                    "上级集团编码",
                    "Parent enterprise ID",
                    references=("enterprises", "enterprise_id"),
                    aliases=("上级集团客户编码", "上级客户编码", "所属集团编码"),
                ),
                c(
                    "credit_code",
                    STR,
                    "统一社会信用代码",
                    "Unified social credit code",
                    format=CREDIT_CODE,
                    aliases=("信用代码", "社会信用代码"),
                ),
                c(
                    "status",
                    STR,
                    "经营状态",
                    "Business status",
                    choices=ENTERPRISE_STATUSES,
                    aliases=("企业状态",),
                ),
            ),
            key=("enterprise_id",),
            parent="parent_enterprise_id",
        ),
        Table(
            "enterprise_members",
            "集团成员",
            "Enterprise members",
            (
                c(
                    "enterprise_id",
                    STR,
                    "集团编码",
                    "Enterprise ID",
                    required=True,
                    references=("enterprises", "enterprise_id"),
                    aliases=("集团客户编码", "集团号"),
                ),
                c(
                    "subscriber_id",
                    STR,
                    "用户编号",
                    "Subscriber ID",
                    required=True,
                    references=("subscribers", "subscriber_id"),
                ),
                c("role", STR, "成员角色", "Member role", choices=("关键人", "普通成员")),
                c("joined_date", DAT, "加入日期", "Joined"),
            ),
            # A subscriber is a member of one enterprise: a newer extract naming them under
            # another moves them there, and one file naming them under two is refused.
            key=("subscriber_id",),
            belongs_to="enterprise_id",
        ),
        # What each enterprise holds (集团产品): one row per product instance, with its
        # contract and the switching-cost facts (agreement 协议, bundle 捆绑, prepayment 趸交).
        Table(
            "enterprise_products",
            "集团产品",
            "Enterprise products",
            (
                c(
                    "product_instance_id",
                    STR,
                    "产品实例编码",
                    "Product instance ID",
                    required=True,
                    aliases=("产品实例ID", "实例编码", "产品编码"),
                ),
                enterprise_ref(),
                c(
                    "product",
                    STR,
                    "产品",
                    "Product",
                    required=True,
                    choices=ENTERPRISE_PRODUCTS,
                    aliases=PRODUCT_ALIASES,
                ),
                c("start_date", DAT, "开通日期", "Start date", aliases=("生效日期",)),
                c(
                    "contract_end",
                    DAT,
                    "合同到期日",
                    "Contract end",
                    aliases=("协议到期日", "合约到期日", "到期日期"),
                ),
                c("monthly_fee", MON, "月费(元)", "Monthly fee (yuan)", minimum=0),
                c("agreement", BOOL, "协议", "Agreement", aliases=("是否签订协议",)),
                c("bundled", BOOL, "捆绑", "Bundled", aliases=("是否捆绑",)),
                c("prepaid", MON, "趸交金额(元)", "Prepaid amount (yuan)", minimum=0),
            ),
            key=("product_instance_id",),
        ),
        # Business acceptance and orders (业务受理/订单) of enterprise accounts, from the CRM.
        Table(
            "enterprise_orders",
            "业务受理/订单",
            "Enterprise orders",
            (
                c(
                    "order_id",
                    STR,
                    "订单编号",
                    "Order ID",
                    required=True,
                    aliases=("工单编号", "受理编号", "订单号", "工单号"),
                ),
                enterprise_ref(),
                c(
                    "product",
                    STR,
                    "产品",
                    "Product",
                    choices=ENTERPRISE_PRODUCTS,
                    aliases=PRODUCT_ALIASES,
                ),
                c(
                    "kind",
                    STR,
                    "业务类型",
                    "Kind",
                    required=True,
                    choices=ORDER_KINDS,
                    aliases=("受理类型",),
                ),
                c(
                    "status",
                    STR,
                    "处理状态",
                    "Status",
                    required=True,
                    choices=ORDER_STATUSES,
                    aliases=("受理状态", "订单状态", "工单状态"),
                ),
                c(
                    "created_date",
                    DAT,
                    "受理日期",
                    "Created",
                    required=True,
                    not_future=True,
                    aliases=("受理时间", "创建日期"),
                ),
                c("closed_date", DAT, "完成日期", "Closed", aliases=("办结日期", "竣工日期")),
                c("amount", MON, "金额(元)", "Amount (yuan)", minimum=0),
            ),
            key=("order_id",),
        ),
        Table(
            "stores",
            "渠道网点",
            "Stores",
            (
                c("store_id", STR, "网点编码", "Store ID", required=True),
                c("name", STR, "网点名称", "Name", required=True),
                c(
                    "store_type",
                    STR,
                    "网点类型",
                    "Type",
                    required=True,
                    choices=STORE_TYPES,
                ),
                c("grade", STR, "网点等级", "Grade", choices=STORE_GRADES),
                c("lat", FLT, "纬度", "Latitude", minimum=-90, maximum=90),
                c("lon", FLT, "经度", "Longitude", minimum=-180, maximum=180),
                c("grid_id", STR, "网格编码", "Grid ID", references=("grids", "grid_id")),
                # The partner's owner (店主/负责人) and contact number: personal data, masked.
                c("owner_name", STR, "负责人", "Owner", pii=Pii.NAME),
                c(
                    "contact_msisdn",
                    STR,
                    "联系电话",
                    "Contact number",
                    pii=Pii.MSISDN,
                    format=MSISDN,
                ),
                # 拉郎配 (forced match) → 谈恋爱 (courting) → 过日子 (settled): channels.stages.
                c("partner_stage", STR, "合作阶段", "Partner stage", choices=PARTNER_STAGES),
                c("opened_date", DAT, "开业日期", "Opened", not_future=True),
            ),
            key=("store_id",),
        ),
        Table(
            "store_sales",
            "网点销量",
            "Store sales",
            (
                c(
                    "store_id",
                    STR,
                    "网点编码",
                    "Store ID",
                    required=True,
                    references=("stores", "store_id"),
                ),
                c("month", STR, "账期(YYYY-MM)", "Month (YYYY-MM)", required=True, format=MONTH),
                c("product", STR, "产品", "Product", required=True),
                c("units", INT, "销量", "Units", minimum=0),
                c("revenue", MON, "收入(元)", "Revenue (yuan)", minimum=0),
            ),
            key=("store_id", "month", "product"),
        ),
        # The omni-channel formula's inputs per store and month (全渠道营销公式): walk-in
        # footfall and referrals, how many of each bought, in how many transactions, for what.
        # conversion = buyers / visitors, repeat purchase = transactions / buyers,
        # basket = revenue / transactions (channels.funnel).
        Table(
            "store_traffic",
            "网点客流",
            "Store traffic",
            (
                c(
                    "store_id",
                    STR,
                    "网点编码",
                    "Store ID",
                    required=True,
                    references=("stores", "store_id"),
                ),
                c("month", STR, "账期(YYYY-MM)", "Month (YYYY-MM)", required=True, format=MONTH),
                c("footfall", INT, "进店客流", "Footfall", required=True, minimum=0),
                c("buyers", INT, "成交客户数", "Buyers", minimum=0),
                c("transactions", INT, "成交笔数", "Transactions", minimum=0),
                c("revenue", MON, "成交金额(元)", "Revenue (yuan)", minimum=0),
                c("referrals", INT, "转介绍客户数", "Referrals", minimum=0),
                c("referred_buyers", INT, "转介绍成交客户数", "Referred buyers", minimum=0),
                c(
                    "referred_transactions",
                    INT,
                    "转介绍成交笔数",
                    "Referred transactions",
                    minimum=0,
                ),
                c(
                    "referred_revenue",
                    MON,
                    "转介绍成交金额(元)",
                    "Referred revenue (yuan)",
                    minimum=0,
                ),
            ),
            key=("store_id", "month"),
        ),
        # One line per sale, refund or reversal at a store (渠道销售明细): the facts commission
        # statements are computed from. A refund or reversal names the sale it undoes.
        Table(
            "channel_sales",
            "渠道销售明细",
            "Channel sales lines",
            (
                c("sale_id", STR, "流水号", "Sale ID", required=True),
                c(
                    "store_id",
                    STR,
                    "网点编码",
                    "Store ID",
                    required=True,
                    references=("stores", "store_id"),
                ),
                c("sale_date", DAT, "办理日期", "Date", required=True, not_future=True),
                c("product", STR, "产品", "Product", required=True),
                c("plan_id", STR, "套餐编码", "Plan ID", references=("plans", "plan_id")),
                c(
                    "subscriber_id",
                    STR,
                    "用户编号",
                    "Subscriber ID",
                    references=("subscribers", "subscriber_id"),
                ),
                c("amount", MON, "金额(元)", "Amount (yuan)", required=True),
                c("kind", STR, "业务类型", "Kind", required=True, choices=SALE_KINDS),
                c("original_sale_id", STR, "原流水号", "Original sale ID"),
            ),
            key=("sale_id",),
        ),
    )
}
