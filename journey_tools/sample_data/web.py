"""Web events: Segment messages rebuilt from sessions, day by day, as JSON lines.

Each export day (`dt`) holds the messages the collector received that day: most arrive within
a second, a few devices send theirs days later (late data), and some messages are sent twice
(retries, sometimes landing in the next day's file).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journey_tools.sample_data import catalogs as cat
from journey_tools.sample_data import contacts as ct
from journey_tools.sample_data import experiments as xp
from journey_tools.sample_data import journeys as jr
from journey_tools.sample_data.crm import Orders
from journey_tools.sample_data.identity import Identities
from journey_tools.sample_data.mail import Templates
from journey_tools.sample_data.people import People, email_variant, ip_text
from journey_tools.sample_data.rand import Salt, hash_int, hash_u01
from journey_tools.sample_data.text import (
    Clock,
    by_group,
    concat,
    int_text,
    jstr,
    money_text,
    scatter,
    strings,
    take,
    take_opt,
    token,
    uuid4,
    when,
)

LATE_SHARE = 0.015  # sessions of mobile devices that upload days later
RETRY_SHARE = 0.004  # messages sent twice
MAX_CHUNK_EVENTS = 400_000


# ------------------------------------------------------------------------------- pages
@dataclass(frozen=True)
class Pages:
    path: tuple[str, ...]
    title: tuple[str, ...]
    product_page: np.ndarray  # product index -> page index
    collection_page: np.ndarray  # collection index -> page index
    content_pages: np.ndarray  # pages a visit may land on from search or social
    browse_pages: np.ndarray  # pages viewed while browsing

    def index(self, path: str) -> int:
        return self.path.index(path)


def build_pages() -> Pages:
    path, title = [], []

    def add(p: str, t: str) -> int:
        path.append(p)
        title.append(t if p == "/" else f"{t} | {cat.SITE_NAME}")
        return len(path) - 1

    content = [add(p, t) for p, t in cat.PAGES]
    collection = [add(f"/collections/{slug}", name) for slug, name in cat.COLLECTIONS]
    product = [add(f"/products/{p[3]}", p[2]) for p in cat.PRODUCTS]
    for p, t in (
        ("/search", "Search"),
        ("/cart", "Your cart"),
        ("/checkout", "Checkout"),
        ("/checkout/thank-you", "Thank you for your order"),
        ("/account/register", "Create an account"),
        ("/account/login", "Log in"),
        ("/newsletter", "Newsletter"),
        ("/contact", "Contact us"),
        ("/account", "Your account"),
        ("/account/orders", "Your orders"),
    ):
        add(p, t)
    return Pages(
        path=tuple(path),
        title=tuple(title),
        product_page=np.asarray(product),
        collection_page=np.asarray(collection),
        content_pages=np.asarray(content + collection + product),
        browse_pages=np.asarray([0, *collection, *product, *content[1:]]),
    )


# ------------------------------------------------------------------------------ traffic
@dataclass
class TrafficTable:
    """The static traffic sources, then one row per email template."""

    referrer: pa.Array
    utm_query: pa.Array  # "utm_source=..&utm_medium=..&utm_campaign=.." or null
    campaign_json: pa.Array  # '"source":..,"medium":..,"name":..' or null
    click_id: pa.Array  # parameter name or null
    click_len: np.ndarray
    click_prefix: pa.Array
    has_term: np.ndarray
    has_content: np.ndarray
    fixed_content: pa.Array  # content of email links, else null
    landing: np.ndarray  # page index, -1 product page, -2 content page


def build_traffic(pages: Pages, tpl: Templates) -> TrafficTable:
    refs, query, camp, click, clen, cpre, term, content, fixed, landing = ([] for _ in range(10))
    prefixes = {"gclid": ("Cj0KCQiA", 40), "fbclid": ("IwAR", 52), "msclkid": ("", 32)}
    for t in cat.TRAFFIC:
        refs.append(t.referrer)
        has_utm = bool(t.utm_source) and not t.strip_utm
        query.append(
            f"utm_source={t.utm_source}&utm_medium={t.utm_medium}&utm_campaign={t.utm_campaign}"
            if has_utm
            else None
        )
        camp.append(
            f'"source":"{t.utm_source}","medium":"{t.utm_medium}","name":"{t.utm_campaign}"'
            if has_utm
            else None
        )
        click.append(t.click_id or None)
        pre, n = prefixes.get(t.click_id, ("", 0))
        clen.append(n)
        cpre.append(pre)
        term.append(t.has_term and has_utm)
        content.append(t.has_content and has_utm)
        fixed.append(None)
        landing.append(
            -1 if t.landing == "product" else -2 if t.landing == "content" else
            pages.index(t.landing)
        )  # fmt: skip
    for i in range(len(tpl.slug)):
        refs.append("")
        query.append(f"utm_source={tpl.utm_source[i]}&utm_medium=email&utm_campaign={tpl.slug[i]}")
        camp.append(f'"source":"{tpl.utm_source[i]}","medium":"email","name":"{tpl.slug[i]}"')
        click.append(None)
        clen.append(0)
        cpre.append("")
        term.append(False)
        is_campaign = i < tpl.n_campaigns
        content.append(is_campaign)
        fixed.append("cta_button" if is_campaign else None)
        landing.append(pages.index(tpl.path[i]))
    return TrafficTable(
        referrer=jstr(strings(refs), safe=True),
        utm_query=pa.array(query, type=pa.string()),
        campaign_json=pa.array(camp, type=pa.string()),
        click_id=pa.array(click, type=pa.string()),
        click_len=np.asarray(clen),
        click_prefix=strings(cpre),
        has_term=np.asarray(term),
        has_content=np.asarray(content),
        fixed_content=pa.array(fixed, type=pa.string()),
        landing=np.asarray(landing),
    )


# ------------------------------------------------------------------------------ batches
@dataclass
class Batch:
    session: np.ndarray
    seg: np.ndarray
    off: np.ndarray
    kind: np.ndarray
    t: np.ndarray
    recv: np.ndarray

    def select(self, idx: np.ndarray) -> Batch:
        return Batch(*(getattr(self, f)[idx] for f in _BATCH_FIELDS))

    @staticmethod
    def concat(parts: list[Batch]) -> Batch:
        return Batch(*(np.concatenate([getattr(p, f) for p in parts]) for f in _BATCH_FIELDS))


_BATCH_FIELDS = ("session", "seg", "off", "kind", "t", "recv")


def received_batches(s: jr.Sessions, people: People, days: int) -> Iterator[tuple[int, Batch]]:
    """Yields (dt, messages received that day), day by day, in order. Sessions must be
    sorted by start."""
    day_of_session = s.start // cat.DAY_MS
    bounds = np.searchsorted(day_of_session, np.arange(days + 1))
    mobile = np.array([m for _, m in cat.USER_AGENTS])[people.device_ua]
    pending: dict[int, list[Batch]] = {}
    n_ev = s.n_events
    for d in range(days):
        lo, hi = int(bounds[d]), int(bounds[d + 1])
        cum = np.cumsum(n_ev[lo:hi])
        cuts = np.searchsorted(
            cum, np.arange(MAX_CHUNK_EVENTS, int(cum[-1]) if cum.size else 0, MAX_CHUNK_EVENTS)
        )
        edges = np.unique(np.r_[0, cuts, hi - lo])
        for a, b in itertools.pairwise(edges.tolist()):
            idx = np.arange(lo + a, lo + b)
            ev = jr.expand(s, idx)
            uid = s.uid[ev.session]
            latency = 40 + hash_int(uid, ev.seg, ev.off, n=1500, salt=Salt.LATENCY)
            late = mobile[s.device[ev.session]] & (hash_u01(uid, salt=Salt.RETRY_LATE) < LATE_SHARE)
            delay = np.where(
                late, cat.DAY_MS + hash_int(uid, n=3 * cat.DAY_MS, salt=Salt.RETRY_DELAY), 0
            )
            recv = ev.t + latency + delay
            batch = Batch(ev.session, ev.seg, ev.off, ev.kind, ev.t, recv)
            retry = hash_u01(uid, ev.seg, ev.off, salt=Salt.RETRY) < RETRY_SHARE
            if retry.any():
                again = batch.select(np.flatnonzero(retry))
                next_day = (
                    hash_u01(s.uid[again.session], again.seg, again.off, salt=Salt.RETRY + 1) < 0.3
                )
                again.recv = again.recv + np.where(
                    next_day,
                    cat.DAY_MS + hash_int(again.off, again.seg, n=cat.HOUR_MS, salt=Salt.RETRY),
                    1_000 + hash_int(again.off, again.seg, n=120_000, salt=Salt.RETRY + 2),
                )
                batch = Batch.concat([batch, again])
            dt = batch.recv // cat.DAY_MS
            for day in np.unique(dt):
                if day < days:
                    pending.setdefault(int(day), []).append(batch.select(np.flatnonzero(dt == day)))
        parts = pending.pop(d, [])
        if parts:
            b = Batch.concat(parts)
            order = np.lexsort((b.off, b.seg, b.session, b.recv))
            yield d, b.select(order)


# ----------------------------------------------------------------------------- rendering
class WebRenderer:
    def __init__(
        self,
        sessions: jr.Sessions,
        people: People,
        contacts: ct.Contacts,
        ids: Identities,
        orders: Orders,
        tpl: Templates,
        clock: Clock,
        seed: int,
    ):
        self.s = sessions
        self.people = people
        self.contacts = contacts
        self.ids = ids
        self.orders = orders
        self.clock = clock
        self.seed = seed
        self.pages = build_pages()
        self.traffic = build_traffic(self.pages, tpl)
        pg = self.pages
        self.page_path = jstr(strings(pg.path), safe=True)
        self.page_title = jstr(strings(pg.title))
        self.page_url = strings([cat.SITE + p for p in pg.path])
        self.page_ref = jstr(strings([cat.SITE + p for p in pg.path]), safe=True)
        self.ua = jstr(strings([u for u, _ in cat.USER_AGENTS]), safe=True)
        self.type_json = strings(['"page"', '"track"', '"identify"'])
        self.event_part = strings(["" if e is None else f',"event":"{e}"' for e in jr.KIND_EVENT])
        products = cat.PRODUCTS
        self.product_json = strings(
            [
                f'"product_id":"{p[0]}","sku":"{p[1]}","name":"{p[2]}","category":"{p[4]}",'
                f'"price":{p[5] // 100}.{p[5] % 100:02d}'
                for p in products
            ]
        )
        self.collection_json = strings(
            [f'{{"list_id":"{slug}","category":"{name}"}}' for slug, name in cat.COLLECTIONS]
        )
        self.search_q = strings(list(cat.SEARCH_QUERIES))
        self.experiment_json = strings(xp.properties_json())
        self.first_names = strings([f for f, _ in cat.FIRST_NAMES])
        self.last_names = strings([x for x, _ in cat.LAST_NAMES])
        self.contact_id_json = jstr(contacts.contact_id, safe=True)
        self.terms = strings([t.replace(" ", "+") for t in cat.SEARCH_TERMS])
        self.terms_json = jstr(strings(list(cat.SEARCH_TERMS)), safe=True)
        self.contents = strings(list(cat.AD_CONTENTS))
        ip = people.device_ip
        self.n_devices = ip.size
        self.ip_texts = pa.concat_arrays([ip_text(ip), ip_text(ip ^ np.uint32(0x5A3C))])
        self.anon_json = concat('"', people.anonymous_id, '"')

    # page of each event
    def _pages(self, b: Batch, uid: np.ndarray, traffic: np.ndarray) -> np.ndarray:
        pg = self.pages
        product = hash_int(uid, b.seg, b.off, n=len(cat.PRODUCTS), salt=Salt.PRODUCT)
        r = hash_u01(uid, b.seg, b.off, salt=Salt.PAGE)
        page = pg.browse_pages[(r * pg.browse_pages.size).astype(np.int64)]
        k = b.kind
        page = np.where((k == jr.VIEWED) | (k == jr.ADDED), pg.product_page[product], page)
        coll = hash_int(uid, b.seg, b.off, n=len(cat.COLLECTIONS), salt=Salt.PAGE + 1)
        page = np.where(k == jr.LIST_VIEWED, pg.collection_page[coll], page)
        fixed = {
            jr.SEARCHED: "/search",
            jr.CART: "/cart",
            jr.CHECKOUT: "/checkout",
            jr.ORDER: "/checkout/thank-you",
        }
        for kind, path in fixed.items():
            page = np.where(k == kind, pg.index(path), page)
        reg = (k == jr.SIGNED_UP) | ((k == jr.IDENTIFY) & (b.seg != jr.SEG_LOGIN))
        page = np.where(reg, pg.index("/account/register"), page)
        page = np.where(
            (k == jr.IDENTIFY) & (b.seg == jr.SEG_LOGIN), pg.index("/account/login"), page
        )
        news = b.seg == jr.SEG_NEWSLETTER
        page = np.where(news, pg.index("/newsletter"), page)
        page = np.where((k == jr.FORM) & ~news, pg.index("/contact"), page)
        landing = b.seg == jr.SEG_LANDING
        spec = self.traffic.landing[traffic]
        land_page = np.where(
            spec == -1,
            pg.product_page[hash_int(uid, n=len(cat.PRODUCTS), salt=Salt.PRODUCT + 1)],
            np.where(
                spec == -2,
                pg.content_pages[hash_int(uid, n=pg.content_pages.size, salt=Salt.PAGE + 2)],
                spec,
            ),
        )
        return np.where(landing, land_page, page)

    def lines(self, b: Batch, drift: bool) -> pa.Array:
        s = self.s
        sess = b.session
        uid = s.uid[sess]
        traffic = s.traffic[sess]
        device = s.device[sess]
        k = b.kind
        landing = b.seg == jr.SEG_LANDING
        page = self._pages(b, uid, traffic)

        # ids
        mid = uuid4((uid, b.seg, b.off), salt=Salt.MESSAGE_ID)
        contact = self.ids.contact_at(device, b.t)
        user = take_opt(self.contact_id_json, contact, "null")
        server_side = (
            (k == jr.IDENTIFY)
            & (contact >= 0)
            & (hash_u01(uid, b.seg, salt=Salt.SERVER_SIDE) < 0.05)
        )
        anon = pc.if_else(
            pa.array(server_side),
            "null",
            take(self.anon_json, device),
        )
        ts = self.clock.iso(b.t + self.people.device_skew[device], self.people.device_tz[device])
        recv = self.clock.iso(b.recv)

        # page context
        tr = self.traffic
        land = np.flatnonzero(landing)
        query = scatter(k.size, land, self._landing_query(uid[land], traffic[land]))
        search = k == jr.SEARCHED
        q_text = take(
            self.search_q, hash_int(uid, b.seg, b.off, n=len(cat.SEARCH_QUERIES), salt=Salt.SEARCH)
        )
        query = pc.if_else(
            pa.array(search), concat("q=", pc.replace_substring(q_text, " ", "+")), query
        )
        search_text = pc.fill_null(concat("?", query), "")
        url = concat(take(self.page_url, page), search_text)
        internal = self.pages.browse_pages[
            hash_int(uid, b.seg, b.off, n=self.pages.browse_pages.size, salt=Salt.REFERRER)
        ]
        referrer = pc.if_else(
            pa.array(landing), take(tr.referrer, traffic), take(self.page_ref, internal)
        )
        path_j = take(self.page_path, page)
        title_j = take(self.page_title, page)
        url_j = concat('"', url, '"')
        campaign = pc.fill_null(scatter(k.size, land, self._campaign(uid[land], traffic[land])), "")
        ua = take(self.ua, self.people.device_ua[device])
        roam = hash_u01(uid, salt=Salt.IP) < 0.15
        ip = take(self.ip_texts, device + roam * self.n_devices)
        context = concat(
            ',"context":{"page":{"path":', path_j, ',"referrer":', referrer,
            ',"title":', title_j, ',"url":', url_j, "}", campaign,
            ',"userAgent":', ua, ',"ip":"', ip, '"}',
        )  # fmt: skip
        page_props = concat(
            '{"path":', path_j, ',"referrer":', referrer, ',"search":"', search_text,
            '","title":', title_j, ',"url":', url_j, "}",
        )  # fmt: skip
        payload = self._payload(b, uid, contact, page_props, q_text)
        extra = ""
        if drift:
            u = hash_u01(uid, b.seg, b.off, salt=Salt.DRIFT)
            extra = concat(
                ',"sentAt":"', ts, '"',
                when(u < 0.03, ',"integrations":{"All":true,"Mixpanel":false}'),
            )  # fmt: skip
        return concat(
            '{"messageId":"', mid,
            '","type":', take(self.type_json, jr.KIND_TYPE[k]),
            take(self.event_part, k),
            ',"anonymousId":', anon,
            ',"userId":', user,
            ',"timestamp":"', ts,
            '","receivedAt":"', recv, '"',
            context,
            payload,
            extra,
            "}\n",
        )  # fmt: skip

    def _landing_query(self, uid: np.ndarray, traffic: np.ndarray) -> pa.Array:
        """Query strings of landing pages (null where the link had none)."""
        tr = self.traffic
        n = uid.size
        term_i = hash_int(uid, n=len(cat.SEARCH_TERMS), salt=Salt.TERM)
        content_i = hash_int(uid, n=len(cat.AD_CONTENTS), salt=Salt.CONTENT)
        fixed = take(tr.fixed_content, traffic)
        content = pc.if_else(pc.is_valid(fixed), fixed, take(self.contents, content_i))
        utm = concat(
            take(tr.utm_query, traffic),
            when(tr.has_term[traffic], concat("&utm_term=", take(self.terms, term_i))),
            when(tr.has_content[traffic], concat("&utm_content=", content)),
        )
        clen = tr.click_len[traffic]
        click = pa.nulls(n, pa.string())
        for length in np.unique(clen[clen > 0]).tolist():
            tok = token((uid,), int(length), Salt.CLICK_ID, alphabet="b64")
            click = pc.if_else(pa.array(clen == length), tok, click)
        click = concat(take(tr.click_id, traffic), "=", take(tr.click_prefix, traffic), click)
        return pc.if_else(
            pc.and_(pc.is_valid(utm), pc.is_valid(click)),
            concat(pc.fill_null(utm, ""), "&", pc.fill_null(click, "")),
            pc.coalesce(utm, click),
        )

    def _campaign(self, uid: np.ndarray, traffic: np.ndarray) -> pa.Array:
        """The `,"campaign":{...}` part of landing pages with UTM parameters, else ""."""
        tr = self.traffic
        term_i = hash_int(uid, n=len(cat.SEARCH_TERMS), salt=Salt.TERM)
        content_i = hash_int(uid, n=len(cat.AD_CONTENTS), salt=Salt.CONTENT)
        fixed = take(tr.fixed_content, traffic)
        content = pc.if_else(pc.is_valid(fixed), fixed, take(self.contents, content_i))
        part = concat(
            ',"campaign":{',
            take(tr.campaign_json, traffic),
            when(tr.has_term[traffic], concat(',"term":', take(self.terms_json, term_i))),
            when(tr.has_content[traffic], concat(',"content":"', content, '"')),
            "}",
        )
        return pc.fill_null(part, "")

    def _payload(
        self,
        b: Batch,
        uid: np.ndarray,
        contact: np.ndarray,
        page_props: pa.Array,
        q_text: pa.Array,
    ) -> pa.Array:
        k = b.kind
        product = hash_int(uid, b.seg, b.off, n=len(cat.PRODUCTS), salt=Salt.PRODUCT)
        coll = hash_int(uid, b.seg, b.off, n=len(cat.COLLECTIONS), salt=Salt.PAGE + 1)
        sess = b.session
        order = self.orders.of_session[sess]
        o = self.orders
        people = self.people

        def props(body: pa.Array) -> pa.Array:
            return concat(',"properties":', body)

        def page(i):
            return props(take(page_props, i))

        def searched(i):
            return props(concat('{"query":"', take(q_text, i), '"}'))

        def listed(i):
            return props(take(self.collection_json, coll[i]))

        def viewed(i):
            return props(concat("{", take(self.product_json, product[i]), ',"currency":"EUR"}'))

        def added(i):
            qty = 1 + hash_int(uid[i], b.seg[i], b.off[i], n=2, salt=Salt.QUANTITY)
            return props(
                concat(
                    '{"cart_id":"', token((uid[i],), 16, Salt.CART_ID), '",',
                    take(self.product_json, product[i]),
                    ',"quantity":', int_text(qty), ',"currency":"EUR"}',
                )
            )  # fmt: skip

        def cart(i):
            return props(concat('{"cart_id":"', token((uid[i],), 16, Salt.CART_ID), '"}'))

        def checkout(i):
            oi = order[i]
            total = np.r_[o.total, 0][oi]  # -1 (no order) picks the appended 0
            value = np.where(oi >= 0, total, 1995 + hash_int(uid[i], n=20000, salt=Salt.ORDER))
            return props(
                concat(
                    '{"checkout_id":"', token((uid[i],), 20, Salt.CHECKOUT_ID),
                    '","value":', money_text(value), ',"currency":"EUR"}',
                )
            )  # fmt: skip

        def completed(i):
            oi = np.maximum(order[i], 0)
            coupon = jstr(
                pc.if_else(
                    pa.array(o.code[oi] >= 0),
                    take(strings(cat.DISCOUNT_CODES), np.maximum(o.code[oi], 0)),
                    pa.nulls(len(i), pa.string()),
                ),
                safe=True,
            )
            return props(
                concat(
                    '{"checkout_id":"', token((uid[i],), 20, Salt.CHECKOUT_ID),
                    '","order_id":"', take(o.order_id, oi),
                    '","total":', money_text(o.total[oi]),
                    ',"revenue":', money_text(o.subtotal[oi] - o.discount[oi]),
                    ',"shipping":', money_text(o.shipping[oi]),
                    ',"tax":', money_text(o.tax[oi]),
                    ',"discount":', money_text(o.discount[oi]),
                    ',"coupon":', coupon, ',"currency":"EUR"}',
                )
            )  # fmt: skip

        def signed_up(i):
            google = hash_u01(uid[i], salt=Salt.SIGNUP_METHOD) < 0.2
            return props(when(google, '{"method":"google"}', '{"method":"email"}'))

        def form(i):
            news = b.seg[i] == jr.SEG_NEWSLETTER
            return props(
                when(news, '{"form_id":"newsletter_footer","form_type":"newsletter"}',
                     '{"form_id":"contact_form","form_type":"contact"}')
            )  # fmt: skip

        def experiment(i):
            # on the landing page, with its context, as analytics.js sends a track call
            return props(take(self.experiment_json, xp.of_offset(self.s.exp[sess[i]], b.off[i])))

        def identify(i):
            c = np.maximum(contact[i], 0)
            p = self.contacts.person[c]
            email = email_variant(
                take(self.contacts.email, c), hash_u01(uid[i], b.seg[i], salt=Salt.EMAIL_VARIANT)
            )
            return concat(
                ',"traits":{"email":', jstr(email),
                ',"first_name":', jstr(take(self.first_names, people.first_name[p])),
                ',"last_name":', jstr(take(self.last_names, people.last_name[p])), "}",
            )  # fmt: skip

        def identify_traits(i):
            p = self.s.person[sess[i]]
            email = email_variant(
                take(people.email, p), hash_u01(uid[i], b.seg[i], salt=Salt.EMAIL_VARIANT)
            )
            return concat(',"traits":{"email":', jstr(email), ',"newsletter_opt_in":true}')

        builders = {
            jr.PAGE: page,
            jr.IDENTIFY: identify,
            jr.IDENTIFY_TRAITS: identify_traits,
            jr.SEARCHED: searched,
            jr.LIST_VIEWED: listed,
            jr.VIEWED: viewed,
            jr.ADDED: added,
            jr.CART: cart,
            jr.CHECKOUT: checkout,
            jr.ORDER: completed,
            jr.SIGNED_UP: signed_up,
            jr.FORM: form,
            jr.EXPERIMENT: experiment,
        }
        return by_group(k, builders, jr.N_KINDS)

    def bot_lines(self, day: int, n: int) -> tuple[np.ndarray, pa.Array]:
        """Crawler page views: a new anonymousId each, no referrer, a bot user agent."""
        key = np.arange(n, dtype=np.int64) + day * 1_000_003
        recv = day * cat.DAY_MS + hash_int(key, n=cat.DAY_MS - 5_000, salt=Salt.BOT)
        bot = hash_int(key, n=len(cat.BOT_USER_AGENTS), salt=Salt.BOT + 1)
        page = self.pages.browse_pages[
            hash_int(key, n=self.pages.browse_pages.size, salt=Salt.BOT + 2)
        ]
        nets = np.array(
            [
                (66 << 24) | (249 << 16),
                (157 << 24) | (55 << 16),
                (54 << 24) | (36 << 16),
                (185 << 24) | (191 << 16),
            ],
            dtype=np.uint32,
        )
        ip = ip_text(nets[bot] | hash_int(key, n=1 << 16, salt=Salt.BOT + 3).astype(np.uint32))
        path_j = take(self.page_path, page)
        title_j = take(self.page_title, page)
        url_j = concat('"', take(self.page_url, page), '"')
        ts = self.clock.iso(recv - 150)
        line = concat(
            '{"messageId":"', uuid4((key,), salt=Salt.BOT + 4),
            '","type":"page","anonymousId":"', uuid4((key,), salt=Salt.BOT + 5),
            '","userId":null,"timestamp":"', ts,
            '","receivedAt":"', self.clock.iso(recv),
            '","context":{"page":{"path":', path_j, ',"referrer":"","title":', title_j,
            ',"url":', url_j, '},"userAgent":',
            jstr(take(strings(cat.BOT_USER_AGENTS), bot), safe=True),
            ',"ip":"', ip, '"},"properties":{"path":', path_j,
            ',"referrer":"","search":"","title":', title_j, ',"url":', url_j, "}}\n",
        )  # fmt: skip
        return recv, line
