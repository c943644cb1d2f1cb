"""The return label: a one-page PDF with addresses, the pickup and a QR code of the RMA."""

from __future__ import annotations

import io

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from api.carrier.base import WINDOWS
from api.models import Merchant, ReturnRequest


def label_pdf(ret: ReturnRequest, merchant: Merchant) -> bytes:
    buf = io.BytesIO()
    width, height = A6
    pdf = canvas.Canvas(buf, pagesize=A6)
    pdf.setTitle(f"Return label {ret.rma}")
    pdf.setAuthor(merchant.name)
    y = height - 12 * mm
    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawString(8 * mm, y, f"RETURN {ret.rma}")
    pdf.setFont("Helvetica", 8)
    y -= 6 * mm
    pdf.drawString(8 * mm, y, f"Order {ret.order.number} - {merchant.name}")
    pickup = ret.pickup
    order = ret.order
    y -= 8 * mm
    pdf.setFont("Helvetica-Bold", 9)
    pdf.drawString(8 * mm, y, "FROM")
    pdf.setFont("Helvetica", 9)
    for line in (order.shipping_name, order.address_line1, f"{order.city} {order.postcode}", order.country):
        y -= 4.2 * mm
        pdf.drawString(8 * mm, y, line)
    y -= 7 * mm
    pdf.setFont("Helvetica-Bold", 9)
    pdf.drawString(8 * mm, y, "TO")
    pdf.setFont("Helvetica", 9)
    for line in (merchant.name + " Returns", *merchant.warehouse_address.split("\n")):
        y -= 4.2 * mm
        pdf.drawString(8 * mm, y, line)
    if pickup is not None:
        y -= 7 * mm
        pdf.setFont("Helvetica-Bold", 9)
        pdf.drawString(8 * mm, y, f"PICKUP {pickup.reference}")
        pdf.setFont("Helvetica", 9)
        y -= 4.2 * mm
        pdf.drawString(
            8 * mm,
            y,
            f"{pickup.carrier}: {pickup.date:%a %d %b %Y}, {pickup.window} {WINDOWS[pickup.window]}",
        )
    qr = QrCodeWidget(f"{ret.rma}|{pickup.reference if pickup else ''}")
    x0, y0, x1, y1 = qr.getBounds()
    size = 32 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(qr)
    renderPDF.draw(drawing, pdf, width - size - 6 * mm, 8 * mm)
    pdf.setFont("Helvetica", 7)
    pdf.drawString(8 * mm, 10 * mm, "Attach this label to the parcel or show the QR code")
    pdf.drawString(8 * mm, 6.5 * mm, "to the courier.")
    pdf.showPage()
    pdf.save()
    return buf.getvalue()
