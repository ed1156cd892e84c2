"""Word lists the generator draws from: names, places, phones, plans, channels."""

from __future__ import annotations

from typing import NamedTuple

CITY = "广州"
CITY_CENTRE = (23.13, 113.26)  # lat, lon

# Surnames, most common first; 陈/黄/梁/李 lead in Guangdong.
SURNAMES = (
    "陈李黄张梁刘林王吴杨何郑罗周谢邓叶冯钟曾彭郭蔡许赖朱潘卢苏徐胡余江马高"
    "谭莫方廖温邱袁沈欧杜颜孙肖严程龙丘古詹韦宋陆汤唐姚邝骆曹利钱伍范麦"
)
MALE_GIVEN = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆旭宁龙林阳晨建国志文峰亮成东锋海荣嘉豪铭睿泽"
)
FEMALE_GIVEN = "芳娜敏静丽艳娟霞秀燕玲英华梅琳婷雪倩颖洁慧莉萍红玉兰晶欣悦佳怡嘉雨思梦琪瑶诗婉妍彤"


class District(NamedTuple):
    code: str
    name: str
    lat: float
    lon: float
    population: float  # millions, sets how many grids and people it gets
    ring: int  # 0 core, 1 inner suburb, 2 outer district


DISTRICTS = (
    District("YX", "越秀", 23.129, 113.267, 1.0, 0),
    District("LW", "荔湾", 23.105, 113.235, 1.1, 0),
    District("HZ", "海珠", 23.090, 113.318, 1.8, 0),
    District("TH", "天河", 23.135, 113.362, 2.2, 0),
    District("BY", "白云", 23.250, 113.300, 3.7, 1),
    District("HP", "黄埔", 23.180, 113.480, 1.1, 1),
    District("PY", "番禺", 22.940, 113.380, 2.8, 1),
    District("HD", "花都", 23.404, 113.220, 1.6, 2),
    District("NS", "南沙", 22.800, 113.530, 0.9, 2),
    District("CH", "从化", 23.550, 113.590, 0.7, 2),
    District("ZC", "增城", 23.260, 113.810, 1.5, 2),
)
GRID_TYPES = ("沿街", "行业", "校园", "园区", "农村")
# P(grid type) by district ring.
GRID_TYPE_MIX = (
    (0.50, 0.25, 0.10, 0.15, 0.00),
    (0.40, 0.15, 0.08, 0.22, 0.15),
    (0.25, 0.10, 0.05, 0.20, 0.40),
)
RING_SPREAD = (0.025, 0.07, 0.12)  # degrees from the district centre to its grids
RING_GRID_RADIUS = (0.004, 0.008, 0.015)  # degrees, a grid's half-width
GRID_5G_COVERAGE = (0.92, 0.90, 0.94, 0.88, 0.55)  # by grid type

ROADS = (
    "北京路",
    "中山五路",
    "解放北路",
    "环市东路",
    "体育西路",
    "天河路",
    "江南大道",
    "昌岗路",
    "广州大道",
    "黄埔大道",
    "新港西路",
    "工业大道",
    "三元里大道",
    "机场路",
    "白云大道",
    "市桥大北路",
    "迎宾路",
    "南沙大道",
    "花城路",
    "新华路",
    "街口大道",
    "荔城大道",
    "科学大道",
    "开创大道",
    "中山大道",
    "芳村大道",
    "东风路",
    "农林下路",
    "滨江路",
    "番禺大道",
)
STORE_TYPES = ("自营厅", "社会渠道", "代理商", "合作店")
STORE_TYPE_P = (0.08, 0.50, 0.14, 0.28)
STORE_TYPE_SALES = (2.0, 1.0, 1.1, 0.8)  # sales multiplier of each store type
STORE_SUFFIX = ("营业厅", "通讯店", "代理点", "合作厅")
PARTNER_STAGES = ("拉郎配", "谈恋爱", "过日子")
SALE_KINDS = ("销售", "退款", "冲正")
STORE_GRADES = ("重点店", "钉子店", "芝麻店")
STORE_PRODUCTS = ("号卡", "5G套餐", "宽带", "融合套餐", "终端", "权益包")
STORE_PRODUCT_RATE = (6.0, 8.0, 3.0, 2.5, 4.0, 10.0)  # units a month at a 钉子店
STORE_PRODUCT_PRICE = (100.0, 60.0, 600.0, 1500.0, 2500.0, 20.0)  # yuan a unit

INDUSTRIES = (
    ("制造业", "制造有限公司", 0.16),
    ("批发零售", "商贸有限公司", 0.18),
    ("信息技术", "科技有限公司", 0.12),
    ("教育", "教育集团", 0.05),
    ("医疗卫生", "医院", 0.04),
    ("政府机关", "街道办事处", 0.04),
    ("金融", "投资有限公司", 0.06),
    ("物流运输", "物流有限公司", 0.08),
    ("建筑", "建设工程有限公司", 0.08),
    ("餐饮住宿", "餐饮管理有限公司", 0.10),
    ("房地产", "置业有限公司", 0.05),
    ("农业", "农业发展有限公司", 0.04),
)
FIRM_WORDS = "华粤穗明盛达恒信通宏泰兴新金海天佳创联汇锦鸿嘉博瑞德安鼎丰誉"

# (name, 5G) and a popularity weight.
DEVICES_5G = (
    ("华为 Mate 60 Pro", 6),
    ("华为 nova 12", 6),
    ("荣耀 Magic6", 3),
    ("荣耀 X50", 6),
    ("小米 14", 5),
    ("Redmi K70", 4),
    ("Redmi Note 13 Pro", 6),
    ("OPPO Reno11", 5),
    ("OPPO A2", 4),
    ("vivo X100", 4),
    ("vivo Y100", 5),
    ("iPhone 15", 5),
    ("iPhone 15 Pro", 4),
    ("iPhone 14", 5),
    ("iPhone 13", 5),
    ("iPhone 12", 3),
    ("一加 12", 2),
    ("三星 Galaxy S24", 1),
)
DEVICES_4G = (
    ("华为 P60", 4),
    ("华为 Mate 50", 3),
    ("华为 nova 11", 4),
    ("iPhone 11", 5),
    ("iPhone XR", 3),
    ("OPPO A57", 4),
    ("vivo Y33s", 4),
    ("Redmi 9A", 4),
    ("荣耀 畅玩20", 3),
)
ELDER_PHONES = (("中兴 守护宝 K230", 3), ("诺基亚 105 4G", 2))

SEGMENTS = ("个人", "家庭", "政企")
CHANNELS = ("营业厅", "社会渠道", "线上商城", "电话营销", "校园营销", "政企渠道", "异网策反")
RECHARGE_CHANNELS = ("微信", "支付宝", "手机营业厅", "营业厅", "银行代扣", "充值卡")
RECHARGE_CHANNEL_P = (0.38, 0.27, 0.15, 0.10, 0.06, 0.04)
RECHARGE_AMOUNTS = (10.0, 20.0, 30.0, 50.0, 100.0, 200.0)
COMPLAINT_CATEGORIES = ("网络", "资费", "服务", "营销", "业务办理")
COMPLAINT_LEVELS = ("普通", "重要", "重大")
COMPLAINT_CHANNELS = ("客服热线", "营业厅", "网上营业厅", "微信客服", "工信部申诉")
CHURN_REASONS = ("资费原因", "网络质量", "竞争对手策反", "服务投诉", "搬迁", "其他")
OPERATORS = ("本网", "移动", "联通", "电信", "广电")
COMPETITOR_SHARE = (0.0, 0.56, 0.21, 0.18, 0.05)
# Number blocks (first three digits) by operator; ours spans 13x/15x/18x/19x.
OWN_PREFIXES = (135, 136, 137, 138, 139, 150, 151, 152, 157, 158, 159, 182, 183, 187, 188, 198)
COMPETITOR_PREFIXES = (
    (),
    (134, 147, 178, 184, 195, 172),
    (130, 131, 132, 155, 156, 166, 175, 176, 185, 186),
    (133, 149, 153, 173, 177, 180, 181, 189, 191, 199),
    (192,),
)

STAFF_TITLES = {
    "group": ("总经理", "副总经理", "市场部经理", "政企部经理", "渠道部经理", "数据分析师"),
    "city": ("分公司总经理", "市场经营部经理", "政企客户部经理", "渠道管理员", "数据分析师"),
    "county": ("区县经理", "渠道经理", "政企客户经理", "政企客户经理", "营销经理"),
    "grid": ("网格长", "网格客户经理", "装维工程师"),
}
#: The county staff who serve enterprises (enterprises.account_manager_employee_no).
ACCOUNT_MANAGER_TITLE = "政企客户经理"


class Plan(NamedTuple):
    plan_id: str
    name: str
    plan_type: str
    fee: float
    data_gb: float | None
    voice: int | None
    is_5g: bool
    group: str  # which subscribers it is sold to (see _world.PLAN_GROUPS)


PLANS = (
    Plan("PRE-008", "预付费保号套餐8元", "prepaid", 8, 2, 50, False, "pre4g"),
    Plan("PRE-019", "大流量王卡19元", "prepaid", 19, 20, 100, False, "pre4g"),
    Plan("PRE-029", "5G流量卡29元", "prepaid", 29, 30, 100, True, "pre5g"),
    Plan("PRE-039", "5G预付费畅享39元", "prepaid", 39, 40, 200, True, "pre5g"),
    Plan("PRE-059", "5G预付费畅享59元", "prepaid", 59, 60, 300, True, "pre5g"),
    Plan("M4G-018", "4G飞享套餐18元", "postpaid", 18, 5, 100, False, "post4g"),
    Plan("M4G-038", "4G飞享套餐38元", "postpaid", 38, 15, 200, False, "post4g"),
    Plan("M4G-058", "4G全家享套餐58元", "postpaid", 58, 20, 300, False, "post4g"),
    Plan("M4G-098", "4G畅享套餐98元", "postpaid", 98, 30, 500, False, "post4g"),
    Plan("M4G-128", "4G畅享套餐128元", "postpaid", 128, 40, 700, False, "post4g"),
    Plan("M5G-039", "5G畅享套餐39元", "postpaid", 39, 30, 200, True, "post5g"),
    Plan("M5G-059", "5G畅享套餐59元", "postpaid", 59, 40, 300, True, "post5g"),
    Plan("M5G-079", "5G畅享套餐79元", "postpaid", 79, 60, 500, True, "post5g"),
    Plan("M5G-099", "5G畅享套餐99元", "postpaid", 99, 80, 600, True, "post5g"),
    Plan("M5G-129", "5G畅享套餐129元", "postpaid", 129, 100, 800, True, "post5g"),
    Plan("M5G-169", "5G畅享套餐169元", "postpaid", 169, 150, 1000, True, "post5g"),
    Plan("M5G-239", "5G畅享套餐239元", "postpaid", 239, 200, 1500, True, "post5g"),
    Plan("M5G-399", "5G智享套餐399元", "postpaid", 399, 300, 3000, True, "post5g"),
    Plan("ENT-038", "政企4G商务套餐38元", "postpaid", 38, 15, 500, False, "ent4g"),
    Plan("ENT-059", "政企5G商务套餐59元", "postpaid", 59, 50, 1000, True, "ent5g"),
    Plan("ENT-099", "政企5G商务套餐99元", "postpaid", 99, 80, 2000, True, "ent5g"),
    Plan("ENT-199", "政企5G商务套餐199元", "postpaid", 199, 150, 3000, True, "ent5g"),
    Plan("BDL-099", "4G家庭融合套餐99元(200M宽带)", "bundle", 99, 30, 500, False, "bdl4g"),
    Plan("BDL-129", "5G智慧家庭融合套餐129元(300M宽带)", "bundle", 129, 60, 500, True, "bdl5g"),
    Plan("BDL-169", "5G智慧家庭融合套餐169元(500M宽带)", "bundle", 169, 100, 1000, True, "bdl5g"),
    Plan(
        "BDL-239", "5G智慧家庭融合套餐239元(千兆宽带+IPTV)", "bundle", 239, 150, 1500, True, "bdl5g"
    ),
    Plan("BB-200M", "单宽带200M", "broadband", 40, None, None, False, "bb"),
    Plan("BB-500M", "单宽带500M", "broadband", 60, None, None, False, "bb"),
    Plan("BB-1000M", "单宽带千兆", "broadband", 100, None, None, False, "bb"),
    Plan("TV-BASE", "IPTV基础包", "iptv", 15, None, None, False, "tv"),
    Plan("TV-VIP", "IPTV影视会员包", "iptv", 30, None, None, False, "tv"),
)
