import { scrubContactDetails } from "./scrub";

describe("scrubContactDetails", () => {
  it("cuts e-mail addresses and phone numbers out of provider error text", () => {
    expect(scrubContactDetails("550 5.1.1 <jane.doe+x@example.com>: Recipient address rejected")).toBe(
      "550 5.1.1 <[email]>: Recipient address rejected",
    );
    expect(scrubContactDetails("invalid number +44 20 7946 0958 for route")).toBe("invalid number [phone] for route");
    expect(scrubContactDetails("to=+15550001234 rejected")).toBe("to=[phone] rejected");
  });

  it("keeps ordinary error text and bounds its length", () => {
    expect(scrubContactDetails("SMS provider answered HTTP 503")).toBe("SMS provider answered HTTP 503");
    expect(scrubContactDetails("x".repeat(2_000))).toHaveLength(501);
  });
});
