"""Static catalogues of the simulated shop: pages, products, names, devices, traffic, campaigns.

Everything here is plain data. Tuples keep a fixed order, so that the generator's output only
depends on its arguments (never on hash order).
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.ingestion import specs

SITE = "https://www.example-shop.com"
SITE_NAME = "Example Shop"
CURRENCY = "EUR"
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000

# ---------------------------------------------------------------- contract enums (sources.md)
# The closed lists and CSV columns are the source registry's (ingestion/specs.py): the
# generator writes exactly what the loader accepts. Open lists (track event names, HubSpot
# original sources) are the generator's own.
WEB_TYPES = specs.WEB_TYPES
TRACK_EVENTS = (
    "Products Searched",
    "Product List Viewed",
    "Product Viewed",
    "Product Added",
    "Cart Viewed",
    "Checkout Started",
    "Order Completed",
    "Signed Up",
    "Form Submitted",
    "Experiment Viewed",
)
EMAIL_EVENTS = specs.EMAIL_EVENTS
LIFECYCLE_STAGES = specs.LIFECYCLE_STAGES
ORIGINAL_SOURCES = (
    "ORGANIC_SEARCH",
    "PAID_SEARCH",
    "EMAIL_MARKETING",
    "SOCIAL_MEDIA",
    "PAID_SOCIAL",
    "REFERRALS",
    "DIRECT_TRAFFIC",
    "OFFLINE",
    "OTHER_CAMPAIGNS",
)
ORDER_STATUSES = specs.ORDER_STATUSES
TICKET_STATUSES = specs.TICKET_STATUSES
TICKET_CHANNELS = specs.TICKET_CHANNELS
TICKET_CATEGORIES = specs.TICKET_CATEGORIES
TICKET_PRIORITIES = specs.TICKET_PRIORITIES
SURVEY_TYPES = specs.SURVEY_TYPES
SURVEY_TOUCHPOINTS = specs.SURVEY_TOUCHPOINTS
ACTIVITY_TYPES = specs.ACTIVITY_TYPES
AD_PLATFORMS = specs.AD_PLATFORMS

# CSV columns, in contract order, by entity name.
CSV_COLUMNS: dict[str, tuple[str, ...]] = {
    spec.entity: spec.csv_columns for spec in specs.ENTITY_SPECS if spec.format == "csv"
}

# Columns that some files carry beyond the contract (schema drift), appended at the end.
DRIFT_COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("hs_analytics_num_visits", "company"),
    "orders": ("payment_method",),
    "tickets": ("assigned_team",),
    "surveys": ("survey_tool",),
    "activities": ("owner_email",),
    "spend": ("conversions",),
    "erasure_requests": ("channel",),
}

# ---------------------------------------------------------------------------- the shop
# (product_id, sku, name, slug, category, price in cents)
PRODUCTS: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("P1001", "TR-RUN-001", "Trail Runner 2", "trail-runner-2", "trail", 12995),
    ("P1002", "TR-RUN-002", "Trail Runner 2 GTX", "trail-runner-2-gtx", "trail", 15995),
    ("P1003", "RD-RUN-010", "Road Glide", "road-glide", "running", 11995),
    ("P1004", "RD-RUN-011", "Road Glide Lite", "road-glide-lite", "running", 9995),
    ("P1005", "RD-RUN-020", "Tempo Racer", "tempo-racer", "running", 17995),
    ("P1006", "HK-BT-030", "Ridge Hiker Mid", "ridge-hiker-mid", "hiking", 16995),
    ("P1007", "HK-BT-031", "Ridge Hiker Low", "ridge-hiker-low", "hiking", 13995),
    ("P1008", "AP-JK-100", "Stormshell Jacket", "stormshell-jacket", "apparel", 18995),
    ("P1009", "AP-TS-101", "Merino Tee", "merino-tee", "apparel", 5995),
    ("P1010", "AP-TS-102", "Tech Tee", "tech-tee", "apparel", 2995),
    ("P1011", "AP-SH-103", "Split Shorts", "split-shorts", "apparel", 3995),
    ("P1012", "AC-SK-200", "Cushion Socks (3 pack)", "cushion-socks-3-pack", "accessories", 1995),
    ("P1013", "AC-CP-201", "Running Cap", "running-cap", "accessories", 2495),
    ("P1014", "AC-BT-202", "Hydration Belt", "hydration-belt", "accessories", 3495),
    ("P1015", "AC-VS-203", "Trail Vest 8L", "trail-vest-8l", "accessories", 8995),
    ("P1016", "AC-HL-204", "Headlamp 400", "headlamp-400", "accessories", 4995),
)

COLLECTIONS: tuple[tuple[str, str], ...] = (
    ("running", "Running Shoes"),
    ("trail", "Trail Shoes"),
    ("hiking", "Hiking Boots"),
    ("apparel", "Apparel"),
    ("accessories", "Accessories"),
    ("sale", "Sale"),
    ("new-arrivals", "New Arrivals"),
)

# Site pages other than products and collections: (path, title)
PAGES: tuple[tuple[str, str], ...] = (
    ("/", SITE_NAME),
    ("/blog/how-to-choose-running-shoes", "How to choose running shoes"),
    ("/blog/trail-running-for-beginners", "Trail running for beginners"),
    ("/blog/marathon-training-plan", "A 16-week marathon training plan"),
    ("/about", "About us"),
    ("/faq", "FAQ"),
    ("/shipping-returns", "Shipping & returns"),
    ("/stores", "Find a store"),
    ("/size-guide", "Size guide"),
)

SEARCH_QUERIES = (
    "trail shoes",
    "waterproof",
    "running socks",
    "gtx",
    "vest",
    "size 44",
    "sale",
    "merino",
    "headlamp",
    "wide fit",
)
SEARCH_TERMS = (
    "running shoes",
    "trail running shoes",
    "example shop",
    "waterproof trail shoes",
    "best running shoes 2026",
    "hiking boots sale",
)
AD_CONTENTS = ("video_a", "carousel_b", "static_c", "ugc_d")
DISCOUNT_CODES = ("WELCOME10", "SPRING15", "VIP20", "NEWSLETTER10")

# ---------------------------------------------------------------------------- people
# (display name, ascii form for email addresses)
FIRST_NAMES: tuple[tuple[str, str], ...] = (
    ("Anna", "anna"),
    ("Lukas", "lukas"),
    ("Marie", "marie"),
    ("Jonas", "jonas"),
    ("Sophie", "sophie"),
    ("Noah", "noah"),
    ("Emma", "emma"),
    ("Liam", "liam"),
    ("Mia", "mia"),
    ("Elias", "elias"),
    ("Léa", "lea"),
    ("José", "jose"),
    ("Zoë", "zoe"),
    ("Łukasz", "lukasz"),
    ("Søren", "soren"),
    ("François", "francois"),
    ("Ines", "ines"),
    ("Mateo", "mateo"),
    ("Olivia", "olivia"),
    ("Jan", "jan"),
    ("Sara", "sara"),
    ("David", "david"),
    ("Chloé", "chloe"),
    ("Björn", "bjorn"),
    ("Hannah", "hannah"),
    ("Paul", "paul"),
    ("Julia", "julia"),
    ("Max", "max"),
    ("Amélie", "amelie"),
    ("Tomás", "tomas"),
    ("Yuki", "yuki"),
    ("Aisha", "aisha"),
)
LAST_NAMES: tuple[tuple[str, str], ...] = (
    ("Müller", "mueller"),
    ("Schmidt", "schmidt"),
    ("Schneider", "schneider"),
    ("Fischer", "fischer"),
    ("Weber", "weber"),
    ("Meyer", "meyer"),
    ("Dubois", "dubois"),
    ("Martin", "martin"),
    ("García", "garcia"),
    ("Fernández", "fernandez"),
    ("Rossi", "rossi"),
    ("Bianchi", "bianchi"),
    ("de Vries", "devries"),
    ("Jansen", "jansen"),
    ("Kowalski", "kowalski"),
    ("Nowak", "nowak"),
    ("Nielsen", "nielsen"),
    ("Johansson", "johansson"),
    ("O'Brien", "obrien"),
    ("Smith", "smith"),
    ("Brown", "brown"),
    ("Wilson", "wilson"),
    ("Núñez", "nunez"),
    ("Çelik", "celik"),
    ("Lefèvre", "lefevre"),
    ("Søndergaard", "sondergaard"),
    ("Tanaka", "tanaka"),
    ("Khan", "khan"),
)
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")
WORK_DOMAINS = ("corp.example.com", "firm.example.org")
# (ISO 3166-1 alpha-2, phone prefix, weight)
COUNTRIES: tuple[tuple[str, str, float], ...] = (
    ("DE", "+49", 0.30),
    ("AT", "+43", 0.06),
    ("CH", "+41", 0.06),
    ("FR", "+33", 0.12),
    ("NL", "+31", 0.08),
    ("BE", "+32", 0.04),
    ("ES", "+34", 0.07),
    ("IT", "+39", 0.07),
    ("PL", "+48", 0.05),
    ("DK", "+45", 0.03),
    ("SE", "+46", 0.04),
    ("GB", "+44", 0.05),
    ("US", "+1", 0.03),
)

# (user agent, is_mobile)
USER_AGENTS: tuple[tuple[str, bool], ...] = (
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36",
        False,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/18.1 Safari/605.1.15",
        False,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
        False,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36",
        False,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        True,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36",
        True,
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        True,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
        True,
    ),
)
BOT_USER_AGENTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
)
# Mail clients for opens and clicks; the proxy one is Apple Mail Privacy Protection.
MAIL_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/42.0.2311.135 Safari/537.36 Edge/12.246 Outlook",
)
MACHINE_OPEN_USER_AGENT = "Mozilla/5.0"

# Time-zone offsets in minutes that clients and CRM exports write ("Z" for 0).
TZ_OFFSETS = (0, 60, 120, -300, -240, 330)


# ---------------------------------------------------------------------------- traffic
@dataclass(frozen=True)
class AdCampaign:
    platform: str
    campaign_id: str
    campaign_name: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    click_id: str  # query parameter the platform appends ("" if none)
    referrer: str
    landing: str  # "/", a collection, "product", or a page path
    cpc_cents: int
    ctr: float
    family: str
    weight: float


AD_CAMPAIGNS: tuple[AdCampaign, ...] = (
    AdCampaign(
        "google_ads",
        "18273645501",
        "Brand | Search",
        "google",
        "cpc",
        "brand_search",
        "gclid",
        "https://www.google.com/",
        "/",
        35,
        0.12,
        "paid_search",
        3.0,
    ),
    AdCampaign(
        "google_ads",
        "18273645502",
        "Generic | Running Shoes",
        "google",
        "cpc",
        "generic_running_shoes",
        "gclid",
        "https://www.google.com/",
        "/collections/running",
        95,
        0.035,
        "paid_search",
        3.0,
    ),
    AdCampaign(
        "google_ads",
        "18273645503",
        "PMax | Shopping All Products",
        "google",
        "cpc",
        "pmax_shopping_all",
        "gclid",
        "https://www.google.com/",
        "product",
        70,
        0.02,
        "paid_search",
        2.0,
    ),
    AdCampaign(
        "google_ads",
        "18273645504",
        "Display | Remarketing",
        "google",
        "display",
        "gdn_remarketing",
        "gclid",
        "https://www.googleadservices.com/",
        "/collections/sale",
        40,
        0.004,
        "display",
        2.0,
    ),
    AdCampaign(
        "google_ads",
        "18273645505",
        "YouTube | Trail Film",
        "youtube",
        "cpv",
        "yt_trail_film",
        "gclid",
        "https://www.youtube.com/",
        "/collections/trail",
        60,
        0.006,
        "paid_video",
        1.0,
    ),
    AdCampaign(
        "meta_ads",
        "23851112233440",
        "Prospecting | Lookalike 2%",
        "facebook",
        "paid_social",
        "fb_prospecting_lal",
        "fbclid",
        "https://l.facebook.com/",
        "/collections/new-arrivals",
        55,
        0.011,
        "paid_social",
        3.0,
    ),
    AdCampaign(
        "meta_ads",
        "23851112233441",
        "Retargeting | Cart Abandoners, 7 days",
        "facebook",
        "cpc",
        "fb_retargeting_cart",
        "fbclid",
        "https://l.facebook.com/",
        "product",
        45,
        0.018,
        "paid_social",
        1.5,
    ),
    AdCampaign(
        "meta_ads",
        "23851112233442",
        "Instagram | Reels Spring",
        "instagram",
        "paid_social",
        "ig_reels_spring",
        "fbclid",
        "https://l.instagram.com/",
        "/collections/trail",
        50,
        0.009,
        "paid_social",
        2.0,
    ),
    AdCampaign(
        "meta_ads",
        "23851112233443",
        "Audience Network | Banners",
        "facebook",
        "cpm",
        "fb_audience_network",
        "fbclid",
        "",
        "/collections/sale",
        25,
        0.003,
        "display",
        1.0,
    ),
    AdCampaign(
        "microsoft_ads",
        "512340001",
        "Brand | Bing",
        "bing",
        "cpc",
        "bing_brand",
        "msclkid",
        "https://www.bing.com/",
        "/",
        30,
        0.1,
        "paid_search",
        0.8,
    ),
    AdCampaign(
        "microsoft_ads",
        "512340002",
        "Generic | Bing Running",
        "bing",
        "cpc",
        "bing_generic_running",
        "msclkid",
        "https://www.bing.com/",
        "/collections/running",
        70,
        0.03,
        "paid_search",
        0.7,
    ),
    AdCampaign(
        "linkedin_ads",
        "700123456",
        "B2B | Team Running Kits",
        "linkedin",
        "paid_social",
        "li_team_kits",
        "",
        "https://www.linkedin.com/",
        "/about",
        350,
        0.005,
        "paid_social",
        0.4,
    ),
    AdCampaign(
        "tiktok_ads",
        "1789001122334455",
        "Spark Ads | Trail Creators",
        "tiktok",
        "paid_social",
        "tt_spark_trail",
        "",
        "https://www.tiktok.com/",
        "/collections/trail",
        30,
        0.008,
        "paid_social",
        1.2,
    ),
    AdCampaign(
        "tiktok_ads",
        "1789001122334456",
        "TopView | Spring Launch",
        "tiktok",
        "cpm",
        "tt_topview_spring",
        "",
        "https://www.tiktok.com/",
        "/collections/new-arrivals",
        20,
        0.002,
        "display",
        0.5,
    ),
)


@dataclass(frozen=True)
class Traffic:
    """One way into the site: UTM parameters, click id, referrer and landing page."""

    family: str
    weight: float
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    click_id: str = ""
    referrer: str = ""
    landing: str = "/"
    ad_campaign: int = -1  # index into AD_CAMPAIGNS
    strip_utm: bool = False  # auto-tagged click: click id only, no UTM parameters
    has_term: bool = False
    has_content: bool = False


def _build_traffic() -> tuple[Traffic, ...]:
    rows: list[Traffic] = []
    for i, ad in enumerate(AD_CAMPAIGNS):
        search = ad.family == "paid_search"
        base = Traffic(
            family=ad.family,
            weight=ad.weight,
            utm_source=ad.utm_source,
            utm_medium=ad.utm_medium,
            utm_campaign=ad.utm_campaign,
            click_id=ad.click_id,
            referrer=ad.referrer,
            landing=ad.landing,
            ad_campaign=i,
            has_term=search,
            has_content=not search,
        )
        if ad.click_id in ("gclid", "msclkid"):
            # Auto-tagging without UTM parameters: only the click id tells the source.
            rows.append(Traffic(**{**base.__dict__, "weight": ad.weight * 0.75}))
            rows.append(Traffic(**{**base.__dict__, "weight": ad.weight * 0.25, "strip_utm": True}))
        else:
            rows.append(base)
    organic_search = (
        ("https://www.google.com/", 0.74),
        ("https://www.bing.com/", 0.09),
        ("https://duckduckgo.com/", 0.07),
        ("https://www.ecosia.org/", 0.06),
        ("https://search.yahoo.com/", 0.04),
    )
    for ref, w in organic_search:
        rows.append(Traffic("organic_search", w, referrer=ref, landing="content"))
    organic_social = (
        ("https://www.facebook.com/", 0.25),
        ("https://t.co/", 0.15),
        ("https://www.linkedin.com/", 0.1),
        ("https://www.instagram.com/", 0.2),
        ("https://www.reddit.com/", 0.1),
        ("https://www.pinterest.com/", 0.08),
    )
    for ref, w in organic_social:
        rows.append(Traffic("organic_social", w, referrer=ref, landing="content"))
    rows.append(
        Traffic(
            "organic_social",
            0.12,
            utm_source="instagram",
            utm_medium="social",
            utm_campaign="bio_link",
            referrer="https://www.instagram.com/",
            landing="/collections/new-arrivals",
        )
    )
    referral = (
        ("https://www.trailrunning-mag.example/best-trail-shoes-2026", 0.4),
        ("https://forum.runners.example/t/which-shoes-for-ultras/18234", 0.3),
        ("https://news.example.org/local-business/shoe-shop-opens", 0.15),
        ("https://www.wikipedia.org/", 0.15),
    )
    for ref, w in referral:
        rows.append(Traffic("referral", w, referrer=ref, landing="product"))
    affiliates = (
        ("awin", "awin_network", "https://www.vouchercodes.example/example-shop", 0.5),
        ("trailblog", "trailblog_partner", "https://trailblog.example/reviews/trail-runner-2", 0.5),
    )
    for source, campaign, ref, w in affiliates:
        rows.append(
            Traffic(
                "affiliate",
                w,
                utm_source=source,
                utm_medium="affiliate",
                utm_campaign=campaign,
                referrer=ref,
                landing="product",
            )
        )
    rows.append(
        Traffic(
            "display",
            0.8,
            utm_source="criteo",
            utm_medium="banner",
            utm_campaign="criteo_retargeting",
            referrer="",
            landing="product",
            has_content=True,
        )
    )
    rows.append(Traffic("direct", 1.0, landing="/"))
    rows.append(Traffic("direct", 0.3, landing="product"))
    # A tab left open: the landing page's referrer is the own site (not a referral).
    rows.append(Traffic("internal", 1.0, referrer=SITE + "/", landing="content"))
    return tuple(rows)


TRAFFIC: tuple[Traffic, ...] = _build_traffic()
EMAIL_TRAFFIC_FAMILY = "email"

# Traffic families: probabilities of a person's first visit, and of a returning visit.
FAMILIES = (
    "paid_search",
    "paid_social",
    "display",
    "paid_video",
    "organic_search",
    "organic_social",
    "referral",
    "affiliate",
    "direct",
    "internal",
)
FIRST_VISIT_MIX = (0.20, 0.14, 0.05, 0.01, 0.22, 0.07, 0.06, 0.04, 0.21, 0.0)
RETURN_VISIT_MIX = (0.12, 0.08, 0.06, 0.02, 0.19, 0.06, 0.04, 0.03, 0.34, 0.06)

# HubSpot original_source by the family of a person's first visit.
ORIGINAL_SOURCE_BY_FAMILY = {
    "paid_search": "PAID_SEARCH",
    "paid_social": "PAID_SOCIAL",
    "display": "OTHER_CAMPAIGNS",
    "paid_video": "OTHER_CAMPAIGNS",
    "organic_search": "ORGANIC_SEARCH",
    "organic_social": "SOCIAL_MEDIA",
    "referral": "REFERRALS",
    "affiliate": "REFERRALS",
    "direct": "DIRECT_TRAFFIC",
    "internal": "DIRECT_TRAFFIC",
}


# ------------------------------------------------------------------------- experiments
@dataclass(frozen=True)
class Experiment:
    """An A/B test as Segment's `Experiment Viewed` reports it, with its true effect.

    Ids are sent as the testing tool sends them: text, or JSON numbers (VWO-style)."""

    experiment_id: str | int
    experiment_name: str
    variation_ids: tuple[str | int, str | int]  # (control, treatment)
    variation_names: tuple[str, str]
    period: tuple[float, float]  # when it runs, as shares of the simulated window
    visit_share: float  # chance that a visit in the period shows it
    treatment_share: float  # share of people the tool buckets into the treatment
    order_lift: float  # the treatment multiplies the chance of an order per visit by this,
    # within CONVERSION_WINDOW_DAYS after the person's first exposure
    bucketing_seed: int = 0  # the tool's hash seed for this test (with the run's seed)


# The warehouse's `experiment_conversion_window_days`.
CONVERSION_WINDOW_DAYS = 14
# Read-outs are draws: a test without effect comes out "significant" one time in twenty, a
# winner's p-value varies by orders of magnitude. The bucketing seeds are chosen so that at the
# README's size and seed (5000 x 180, 42) the read-outs are typical of their true effects (the
# winner's lift near its median, the others' differences small) and the journey tests' fixture
# keeps its email-click orders; at other sizes and seeds they are what they are.
EXPERIMENTS: tuple[Experiment, ...] = (
    # A clear winner. The control is the variation named "Control", though its id is the
    # higher one (the lowest-id rule would pick the wrong side).
    Experiment(
        "21750110234",
        "Free-shipping banner",
        ("21749970188", "21749970183"),
        ("Control", "Variant B"),
        period=(0.1, 0.6),
        visit_share=0.95,
        treatment_share=0.5,
        order_lift=3.0,
        bucketing_seed=12,
    ),
    # No effect; ids 1 and 2 (JSON numbers), so the control is the lowest id.
    Experiment(
        14,
        "Homepage hero image",
        (1, 2),
        ("Original", "Lifestyle photo"),
        period=(0.3, 0.75),
        visit_share=0.6,
        treatment_share=0.5,
        order_lift=1.0,
        bucketing_seed=8,
    ),
    # A broken split (the traffic allocation was left at 45/55 after a ramp-up): a
    # sample-ratio mismatch, and no effect. The control is the variation whose id is
    # `control`.
    Experiment(
        "checkout_one_page",
        "One-page checkout",
        ("control", "one_page"),
        ("Two-step checkout", "One-page checkout"),
        period=(0.45, 0.9),
        visit_share=0.7,
        treatment_share=0.55,
        order_lift=1.0,
        bucketing_seed=13,
    ),
)
