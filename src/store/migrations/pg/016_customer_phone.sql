-- 016_customer_phone.sql — the customer's phone number (issue 13).
--
-- Shown on the case page as a tel: link, so the person who closes the loop
-- can call back. Optional (NULL = unknown), free text of at most 40 bytes
-- with a light format check in src/model/model.c (digits, spaces, + - ( )).
-- Personal data like name and email: the GDPR export reads the customer row
-- with SELECT * and the erase blanks every text column, so both cover it.
ALTER TABLE customers ADD COLUMN phone TEXT;
