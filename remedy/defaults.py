"""Every default value the planner uses, in one table, each with where it comes from.

The scoring model (docs: scoring-model.md) turns evidence from service-recovery research into
numbers. Each number lives here once, as `Default(value, source)`, so that `remedy explain` can
say where every input of a score came from, and so that a reader can check a default against its
source. Values written as a tuple `(low, likely, high)` are uncertain and sampled in the Monte
Carlo. Anything here can be overridden from the incident file where the format has a key for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Default:
    """A default input of the model and the evidence (or the reasoning) behind it."""

    value: Any
    source: str


KNOX = "Knox & van Oest, J. Marketing 2014"
ROSCHK = "Roschk & Gelbrich, J. Service Research 2014"
HALPERIN = "Halperin, Ho, List & Muir, Economic Journal 2022"

DEFAULTS: dict[str, Default] = {
    # --- Failure shock: share of future value lost with only a form apology (section 1) -------
    "delta.late_delivery": Default(
        (0.04, 0.08, 0.12),
        f"{HALPERIN}; Amorim et al., J. Retailing 2025",
    ),
    "delta.not_fulfilled": Default((0.15, 0.30, 0.45), KNOX),
    "delta.lost_in_transit": Default((0.15, 0.30, 0.45), KNOX),
    "delta.pricing_error": Default(
        (0.10, 0.20, 0.35), "scoring model: a broken expectation of value, a monetary failure"
    ),
    "delta.billing_error": Default((0.20, 0.35, 0.50), "scoring model: money taken wrongly"),
    "delta.outage": Default((0.03, 0.08, 0.20), "scoring model: scale with duration vs the SLA"),
    "delta.quality_defect": Default((0.05, 0.15, 0.30), "scoring model"),
    "delta.other": Default((0.05, 0.15, 0.30), "scoring model"),
    # Modifiers of delta.
    "delta.occasion": Default(2.5, "scoring model: a missed dated occasion"),
    "delta.cap": Default(0.9, "scoring model: cap after modifiers"),
    "delta.repeat": Default(1.5, f"scoring model: hit again recently ({HALPERIN})"),
    "delta.fault.ours": Default(1.0, "scoring model"),
    "delta.fault.partner": Default(0.8, "scoring model: customers still blame the seller"),
    "delta.fault.customer": Default(0.3, "scoring model"),
    # --- What each customer loses with only an apology (incident format, affected) ----------
    "customer_loss.late_delivery": Default(0.10, "incident format: 10% of order_value"),
    "customer_loss.outage": Default(
        0.10, "assumption: like a delay, 10% of order_value (no published estimate)"
    ),
    "customer_loss.quality_defect": Default(1.0, "assumption: the order's value"),
    "customer_loss.other": Default(1.0, "assumption: the order's value"),
    # --- Recovery curve g(x), x = value to the customer / the customer's loss (section 2) ---
    "g.rise_midpoint": Default(
        0.8,
        "Haesevoets et al., J. Judgment and Decision Making 2017; Gelbrich, Gäthke & Grégoire, "
        "J. Service Research 2015 (steep rise from x=0.6 to x=1.2)",
    ),
    "g.rise_steepness": Default(9.0, "fitted so g(0.6)=0.14, g(1)=0.86, g(1.2)=0.97"),
    "g.decline_start": Default(1.5, "Haesevoets et al. 2017: over-compensation buys nothing"),
    "g.decline_depth": Default(
        0.15,
        "Gelbrich, Gäthke & Grégoire 2015: over-compensation can backfire; size assumed: g keeps "
        "falling past x = 1.5 (0.89 at 2.5, 0.57 at 5.5), never flat",
    ),
    "g.decline_width": Default(1.0, "assumption: the scale of the decline past x = 1.5"),
    "g.group_shift": Default(
        1.2, "Albrecht et al., J. Service Research 2019: the plateau comes earlier in groups"
    ),
    "g.group_min_customers": Default(
        1000, "assumption: above ~1,000 affected customers, customers compare notes"
    ),
    # --- Match of remedy to failure (Roschk & Gelbrich 2014; Stakhovych & Tamaddoni 2020) ----
    "match.pricing_error.honor": Default(1.0, ROSCHK),
    "match.pricing_error.store_credit": Default(0.7, ROSCHK),
    "match.pricing_error.refund": Default(0.5, ROSCHK),
    "match.late_delivery.ship_upgrade": Default(1.0, ROSCHK),
    "match.late_delivery.store_credit": Default(0.8, ROSCHK),
    "match.late_delivery.refund": Default(0.6, ROSCHK),
    "match.not_fulfilled.refund": Default(1.0, ROSCHK),
    "match.not_fulfilled.replacement": Default(1.0, ROSCHK),
    "match.not_fulfilled.ship_upgrade": Default(0.9, ROSCHK),
    "match.lost_in_transit.replacement": Default(1.0, ROSCHK),
    "match.lost_in_transit.refund": Default(0.9, ROSCHK),
    "match.billing_error.refund": Default(1.0, ROSCHK),
    "match.billing_error.store_credit": Default(0.6, ROSCHK),
    "match.outage.store_credit": Default(1.0, f"{ROSCHK} (a service credit)"),
    "match.outage.refund": Default(0.8, ROSCHK),
    "match.quality_defect.replacement": Default(1.0, f"{ROSCHK}: a replacement for what failed"),
    "match.quality_defect.refund": Default(0.9, f"{ROSCHK}, as for lost_in_transit"),
    "match.fallback.store_credit": Default(
        0.7,
        f"{ROSCHK}; Stakhovych & Tamaddoni, J. Service Research 2020: credit is the best "
        "fallback when nothing matches",
    ),
    "match.fallback": Default(0.5, "assumption: a remedy that does not replace what was lost"),
    "match.custom": Default(1.0, "file: the option's `matches` list names this kind"),
    # --- Fault, timing, combination ------------------------------------------------------
    "fault.ours": Default(1.0, "Grewal, Roggeveen & Tsiros, J. Retailing 2008"),
    "fault.partner": Default(0.9, "Grewal, Roggeveen & Tsiros, J. Retailing 2008"),
    "fault.customer": Default(0.5, "Grewal, Roggeveen & Tsiros, J. Retailing 2008"),
    "timeliness.standard_shipping": Default(
        0.8, f"{ROSCHK}: immediate remedies beat delayed ones (size assumed)"
    ),
    "rho_max": Default(
        0.85, f"{KNOX}; de Matos, Henrique & Rossi, J. Service Research 2007 (meta-analysis)"
    ),
    "rho_call.with_remedy": Default(
        0.3, "Hill & Boyd, J. Business Ethics 2015; Gelbrich & Roschk, J. Service Research 2011"
    ),
    "rho_call.alone": Default(0.1, "Hill & Boyd, J. Business Ethics 2015"),
    "apology_backfire": Default(
        0.1, f"{HALPERIN}: apologies without a remedy backfire on repeat failures (size assumed)"
    ),
    # --- Choices ("a refund, or the goods sent again") -------------------------------------
    "refund_take_up": Default(
        (0.05, 0.2, 0.5),
        "assumption; the photo-bag case: offered a refund or express shipping, nobody took the "
        "refund",
    ),
    # --- Costs (section 3) and the business defaults of the incident format ----------------
    "refund.processing_cost": Default(0.30, "incident format: refunded card fees are not returned"),
    "min_offer_share": Default(
        0.05,
        "assumption: an offer worth less than 5% of the order is a token, not compensation; it "
        "recovers nothing (Gelbrich, Gäthke & Grégoire 2015: compensation must be substantive)",
    ),
    # --- Word of mouth and publicity: value at stake beyond the customer's own CLV ----------
    "spillover.word_of_mouth": Default(
        (0.0, 0.1, 0.25),
        "Kumar, Petersen & Leone, Harvard Business Review 2007 and J. Marketing 2010: what "
        "customers tell others (customer referral value) is worth a sizable share beside CLV; "
        "share assumed",
    ),
    "spillover.publicity": Default(
        (0.0, 0.1, 0.3),
        "assumption: an incident this large reaches the press and social media (the 6pm price "
        "cap was widely reported); de Matos, Henrique & Rossi 2007: recovery restores but does "
        "not raise repurchase, so this is value to keep, not to gain",
    ),
    "spillover.publicity_min_customers": Default(
        10_000, "assumption: from about 10,000 affected customers an incident is public"
    ),
    # --- Who acts on a mass message or an offer on request ---------------------------------
    "reply_share": Default(
        (0.01, 0.03, 0.06),
        "FTC, Consumers and Class Actions 2019: 3% acted on an emailed notice; taken as the share "
        "who reply to a mass message and take support time (assumption)",
    ),
    "take_up.email": Default(
        (0.02, 0.04, 0.09),
        "FTC, Consumers and Class Actions 2019 (149 settlements): email notice 3%, weighted mean "
        "4%, median 9% of those notified claimed",
    ),
    "take_up.mail": Default(
        (0.04, 0.06, 0.10),
        "FTC, Consumers and Class Actions 2019: postcard notice 6%, notice packet 10%",
    ),
    "take_up.proof_factor": Default(
        0.1,
        "CFPB, Arbitration Study: Report to Congress 2015: claims fall by about 90% when proof "
        "is required",
    ),
    "pay_difference.take_up": Default(
        (0.1, 0.25, 0.4),
        "assumption: the share of customers who keep a mispriced order at the correct price",
    ),
    # --- Fairness between segments that can compare notes ----------------------------------
    "fairness_penalty": Default(
        (0.02, 0.05, 0.10),
        "Albrecht et al., J. Service Research 2019: in group failures customers compare what "
        "others received; seeing others get more for the same failure costs goodwill (size "
        "assumed)",
    ),
    # --- Operational capacity ----------------------------------------------------------------
    "personal_call.capacity_hours": Default(
        8.0, "assumption: one working day of the caller's time, unless the file says more"
    ),
    "store_credit.share_of_order": Default(0.2, "incident format: 20% of order_value"),
    "store_credit.redemption_rate": Default(0.6, "scoring model section 3"),
    "personal_call.minutes": Default(10.0, "incident format"),
    "contact_minutes": Default(
        3.0,
        "incident format; ContactBabel 2023-24: an inbound call costs about £6; paid for each "
        "reply, claim or choice, not for every customer messaged",
    ),
    "business.gross_margin": Default(0.4, "incident format"),
    "business.support_cost_per_hour": Default(30.0, "incident format"),
    "business.founder_cost_per_hour": Default(200.0, "incident format"),
}


@dataclass(frozen=True)
class Obligation:
    """A remedy owed whatever it scores, by the kind of failure and whose fault it was.

    `legal`: the law makes it an obligation, so `required: false` in the file cannot waive it;
    otherwise it is our default policy and the file may waive it (the plan then says so).
    """

    text: str
    source: str
    legal: bool


OBLIGATIONS: dict[str, Obligation] = {
    "refund_wrong_charge": Obligation(
        "money taken in error is refunded",
        "restitution of money paid by mistake; US Fair Credit Billing Act (15 U.S.C. 1666); "
        "EU Payment Services Directive 2015/2366",
        legal=True,
    ),
    "order_fate": Obligation(
        "a mispriced order is honored, or cancelled with the payment returned",
        "restitution: payment for goods not supplied must be returned (an order taken at an "
        "obvious error may be cancelled, its money may not be kept)",
        legal=True,
    ),
    "make_whole": Obligation(
        "goods paid for and not received are made whole: a refund or the goods sent",
        "EU Consumer Rights Directive 2011/83/EU arts. 18 and 20 (the seller bears the risk "
        "until delivery); UK Consumer Rights Act 2015 ss. 28-29; US FTC Mail, Internet or "
        "Telephone Order Merchandise Rule (16 CFR 435)",
        legal=True,
    ),
    "legal_remedy": Obligation(
        "a faulty product gets its legal remedy: a replacement (or repair) or a refund",
        "EU Sale of Goods Directive 2019/771 arts. 13-16; UK Consumer Rights Act 2015 "
        "ss. 19-24; US implied warranty of merchantability (UCC 2-314)",
        legal=True,
    ),
    "occasion_refund": Obligation(
        "after the missed occasion the delivery may be worth nothing: the refund is offered",
        "where the date was essential the customer may cancel: EU Consumer Rights Directive "
        "2011/83/EU art. 18(2), UK Consumer Rights Act 2015 s. 28(6); offered by default even "
        "where the date was not agreed as essential (waivable)",
        legal=False,
    ),
}


def value(name: str) -> Any:
    """The default value called `name`."""
    return DEFAULTS[name].value


def cite(name: str, shown: Any = None) -> str:
    """A source line for a default: `default: 0.2 (Knox & van Oest, J. Marketing 2014)`."""
    entry = DEFAULTS[name]
    shown = entry.value if shown is None else shown
    if isinstance(shown, tuple):
        shown = "[" + ", ".join(f"{v:g}" for v in shown) + "]"
    elif isinstance(shown, float):
        shown = f"{shown:g}"
    return f"default: {shown} ({entry.source})"
