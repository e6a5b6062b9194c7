import { describe, expect, it } from "vitest";
import { CodecError } from "../../../src/primitives/index.js";
import {
  AddressDirection,
  type AddressIndexEntry,
  addressIndexKey,
  addressIndexRange,
  decodeAddressIndexRecord,
  encodeAddressIndexValue,
} from "../../../src/store/address-index.js";

/** The address index's record codec: one table of entries, encoded and decoded back; malformed records refused. */
const address = new Uint8Array(20).fill(0xaa);
const other = new Uint8Array(20).fill(0xbb);
const txId = new Uint8Array(32).fill(7);
const base = { address, txId, amount: 1000n, fee: 10n, counterparty: other };

const cases: [string, AddressIndexEntry][] = [
  [
    "coinbase",
    {
      ...base,
      height: 1,
      position: 0,
      direction: AddressDirection.Coinbase,
      fee: 0n,
      counterparty: undefined,
    },
  ],
  ["in", { ...base, height: 2, position: 1, direction: AddressDirection.In }],
  [
    "out",
    {
      ...base,
      height: 0xffff_ffff,
      position: 0xffff,
      direction: AddressDirection.Out,
      amount: 0xffff_ffff_ffff_ffffn,
    },
  ],
  ["self", { ...base, height: 300, position: 258, direction: AddressDirection.Self, counterparty: address }],
];

describe("address index records", () => {
  it.each(cases)("%s: encodes and decodes back to the same entry", (_name, entry) => {
    const key = addressIndexKey(entry.address, entry.height, entry.position);
    expect(key.byteLength).toBe(27);
    const value = encodeAddressIndexValue(entry);
    expect(value.byteLength).toBe(entry.direction === AddressDirection.Coinbase ? 49 : 69);
    expect(decodeAddressIndexRecord(key, value)).toEqual(entry);
  });

  it("keys sort by address, then height, then position (big-endian)", () => {
    const keys = [
      addressIndexKey(address, 256, 0),
      addressIndexKey(address, 1, 65535),
      addressIndexKey(other, 0, 0),
      addressIndexKey(address, 1, 2),
    ].map((k) => Buffer.from(k).toString("hex"));
    expect([...keys].sort()).toEqual([keys[3], keys[1], keys[0], keys[2]]);
  });

  it("a page range starts after (or, reversed, before) the cursor and stays inside one address", () => {
    const r = addressIndexRange(address, { height: 5, position: 1 }, false);
    expect(r.gt).toEqual(addressIndexKey(address, 5, 1));
    expect(r.lte).toEqual(addressIndexKey(address, 0xffff_ffff, 0xffff));
    const back = addressIndexRange(address, { height: 5, position: 1 }, true);
    expect(back.lt).toEqual(addressIndexKey(address, 5, 1));
    expect(back.gte).toEqual(addressIndexKey(address, 0, 0));
  });

  it.each([
    ["trailing bytes", (v: Uint8Array) => Uint8Array.of(...v, 0)],
    ["a truncated value", (v: Uint8Array) => v.subarray(0, 60)],
    ["an unknown direction", (v: Uint8Array) => Uint8Array.of(...v.subarray(0, 32), 9, ...v.subarray(33))],
  ])("CodecError on %s", (_name, mangle) => {
    const entry = cases[1]![1];
    const key = addressIndexKey(entry.address, entry.height, entry.position);
    expect(() => decodeAddressIndexRecord(key, mangle(encodeAddressIndexValue(entry)))).toThrow(CodecError);
  });

  it("refuses out-of-range fields before encoding", () => {
    expect(() => addressIndexKey(address.subarray(1), 1, 1)).toThrow(RangeError);
    expect(() => addressIndexKey(address, 2 ** 32, 1)).toThrow(RangeError);
    expect(() => addressIndexKey(address, 1, 65536)).toThrow(RangeError);
    expect(() => encodeAddressIndexValue({ ...cases[1]![1], amount: -1n })).toThrow(RangeError);
    expect(() => encodeAddressIndexValue({ ...cases[1]![1], counterparty: undefined })).toThrow(RangeError);
  });
});
