-- Hand-written migration: SQL that schema.prisma cannot express (functions, triggers, data
-- fixes). It runs once, in one transaction, and must never be edited after it was applied.

-- Orders that already existed hold their net in pending until they are released.
UPDATE "payment_orders" SET "pending_held_minor" = "net_amount_minor" WHERE "released_at" IS NULL;

-- Reservations and holds never go negative or above the order.
ALTER TABLE "payment_orders" ADD CONSTRAINT "payment_orders_refund_bounds" CHECK (
  "reserved_refund_minor" >= 0 AND "refunded_amount_minor" >= 0 AND "pending_held_minor" >= 0
  AND "refunded_amount_minor" + "reserved_refund_minor" <= "amount_minor"
);
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_amount_positive" CHECK ("amount_minor" > 0);
