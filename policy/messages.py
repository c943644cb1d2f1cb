"""Wording of every rule code: (shopper sentence, merchant detail) templates.

Rule codes are stable (the API stores them, dashboards filter on them); the wording may change.
Placeholders are filled by `policy.rules.hit` with already formatted strings.
"""

from __future__ import annotations

TEMPLATES: dict[str, tuple[str, str]] = {
    "not_delivered": (
        "Your order hasn't been delivered yet, so the {name} can't be returned yet. "
        "You can start a return once it arrives.",
        "Order status is {status}; returns open on delivery.",
    ),
    "final_sale": (
        "The {name} was bought on final sale, so it can't be returned.",
        "Item is final sale; reason {reason} is not in final_sale.review_reasons.",
    ),
    "final_sale.review": (
        "The {name} was bought on final sale, so our team will look at your request personally.",
        "Item is final sale; reason {reason} is in final_sale.review_reasons.",
    ),
    "already_returned": (
        "The {name} has already been returned.",
        "{returned} of {ordered} unit(s) already returned.",
    ),
    "quantity.exceeds_returnable": (
        "You can return at most {returnable} of the {name}.",
        "Asked to return {quantity}; {returnable} still returnable ({returned} of {ordered} returned).",
    ),
    "window.expired": (
        "The {name} was delivered {days} days ago and {what} can be returned within {window} days "
        "of delivery, so the return window has closed.",
        "Delivered {delivered} ({days} days ago); windows.{window_key} = {window}.",
    ),
    "window.ok": (
        "You're within the {window}-day return window.",
        "Delivered {delivered} ({days} days ago); windows.{window_key} = {window}; {left} day(s) left.",
    ),
    "reason.unknown": (
        "Our team will look at your return and get back to you.",
        "Reason code {reason!r} is not in the policy's reasons.",
    ),
    "reason.auto_approve": (
        'Returns for "{label}" are accepted.',
        "reasons.{reason}.action = auto_approve.",
    ),
    "reason.manual_review": (
        'Our team checks returns for "{label}" and will get back to you.',
        "reasons.{reason}.action = manual_review.",
    ),
    "reason.auto_reject": (
        'Sorry, we can\'t accept returns for "{label}".',
        "reasons.{reason}.action = auto_reject.",
    ),
    "photos.missing": (
        "Please send {missing} {photos} of the {name} so we can process your return.",
        "{received} of {required} required photo(s) received (reason {reason}, category {category}).",
    ),
    "photos.retake": (
        "{quality_message} Please send {missing} clear {photos} of the {name}.",
        "{bad} photo(s) failed the quality gate ({issues}); {usable} usable of {required} required.",
    ),
    "photos.ok": (
        "Thanks for the photos.",
        "{usable} usable photo(s) of {required} required.",
    ),
    "damage.confirmed": (
        "Your photos show the damage.",
        "Damage probability {probability} >= damage.clearly_damaged {threshold} with confidence "
        "{confidence} >= {min_confidence}; severity {severity}{damage_type}.",
    ),
    "damage.not_visible": (
        "The photos don't clearly show the damage, so our team will take a closer look.",
        "Photos do not show damage: probability {probability} <= damage.clearly_not_damaged "
        "{threshold} with confidence {confidence}.",
    ),
    "damage.unclear": (
        "Our team will take a closer look at your photos.",
        "Damage unclear: probability {probability}, confidence {confidence} (damaged >= {high}, "
        "not damaged <= {low}, min confidence {min_confidence}).",
    ),
    "damage.unassessed": (
        "Our team will take a look at your photos.",
        "No usable damage assessment: {received} photo(s) received, {assessed} assessed.",
    ),
    "value.high": (
        "The {name} is a high-value item, so a member of our team will check your return.",
        "Price {price} >= high_value.min_price {min_price}.",
    ),
    "keep_it": (
        "You don't need to send the {name} back: keep it, give it away or recycle it.",
        "Price {price} <= keep_it.max_price {max_price}: refund without return.",
    ),
    "keep_it.fragile_damaged": (
        "Please don't send the broken {name} back; you can dispose of it safely.",
        "Fragile item with damage confirmed; keep_it.damaged_fragile = true.",
    ),
    "exchange.out_of_stock": (
        "The replacement for the {name} is out of stock, so an exchange isn't possible; "
        "you can choose another option.",
        "exchange_in_stock = false: exchange removed from the resolutions.",
    ),
    "fees.none": (
        "Returning the {name} is free because the problem was on our side.",
        "reasons.{reason}.at_fault = merchant: no fees.",
    ),
    "fees.waived": (
        "There's no fee when you choose {resolution}.",
        "Resolution {resolution} is in resolutions.fees_waived_for.",
    ),
    "fee": (
        "A {label} of {amount} is deducted from your refund.",
        "fees.{fee}: {detail}.",
    ),
    "serial_returner": (
        "Our team will check this return and get back to you shortly.",
        "{count} return(s) in the last {days} days > serial_returners.max_returns {limit}.",
    ),
    "serial_returner.rejections": (
        "Our team will check this return and get back to you shortly.",
        "{count} rejected return(s) > serial_returners.max_rejected {limit}.",
    ),
}
