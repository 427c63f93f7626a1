import assert from "node:assert/strict";
import { test } from "node:test";
import { UI } from "./ui.mjs";

const { parseCsv, rowsToItems, toCsv } = await import(new URL("csv.js", UI));

test("toCsv quotes what RFC 4180 asks and defuses formulas", () => {
  assert.equal(toCsv([["a", 'say "hi"', "x,y"], [null, 3, "=SUM(A1)"]]),
    'a,"say ""hi""","x,y"\r\n,3,\'=SUM(A1)\r\n');
  assert.equal(toCsv([["-1", "+1", "@me", "ok"]]), "'-1,'+1,'@me,ok\r\n");
});

test("parseCsv reads quotes, doubled quotes, newlines in quotes, CRLF and a BOM", () => {
  assert.deepEqual(parseCsv('\uFEFFa,"b ""c""",d\r\n"multi\nline",,x\n'),
    [["a", 'b "c"', "d"], ["multi\nline", "", "x"]]);
  assert.deepEqual(parseCsv("a,b\n\n , \nc,d"), [["a", "b"], ["c", "d"]]);
  assert.deepEqual(parseCsv(""), []);
});

test("parseCsv reads back what toCsv wrote", () => {
  const rows = [["x,y", 'q"uote', "line\nbreak"], ["plain", "", "é"]];
  assert.deepEqual(parseCsv(toCsv(rows)), rows);
});

test("rowsToItems follows a header row, url as original_url, numbers for redirect_type", () => {
  const { items, unknown, firstLine } = rowsToItems(
    [["url", "Redirect_Type", "custom_alias"], ["https://a.example", "301", " spring "],
     ["", "3xx", ""]]);
  assert.deepEqual(items, [
    { original_url: "https://a.example", redirect_type: 301, custom_alias: "spring" },
    { original_url: "", redirect_type: "3xx" }]);
  assert.deepEqual(unknown, []);
  assert.equal(firstLine, 2);
});

test("rowsToItems without a header takes the documented column order", () => {
  const { items, firstLine } = rowsToItems([["https://b.example", "b-alias"]]);
  assert.deepEqual(items, [{ original_url: "https://b.example", custom_alias: "b-alias" }]);
  assert.equal(firstLine, 1);
});

test("rowsToItems names unknown header columns", () => {
  assert.deepEqual(rowsToItems([["original_url", "tags", "note"]]).unknown, ["tags", "note"]);
});
