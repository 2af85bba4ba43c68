package offline

// DemoKnowledge is the knowledge base of the Demo Assistant that Parley
// creates on first start, about a made-up coffee roaster.
const DemoKnowledge = `# Opening hours
Our café and roastery in Harbour Street is open Monday to Friday from 7:30 to 18:00, and Saturday and Sunday from 9:00 to 16:00. We are closed on public holidays.

# Shipping
We roast to order and ship within two business days. Shipping is free within the country on orders over 40 EUR; smaller orders pay a flat 4.90 EUR. We also ship abroad to most of Europe for 9.90 EUR, with delivery in three to six business days. Every parcel gets a tracking number by email.

# Returns and refunds
If your coffee arrives damaged or is not what you ordered, tell us within 14 days and we will replace it or refund you in full. Opened bags can be returned within 14 days if you are not happy with the taste; we refund the bag price. Refunds reach your account within five business days.

# Subscriptions
Our coffee subscription delivers freshly roasted beans every two or four weeks. You choose the roast (light, medium or dark) and whole beans or ground coffee. Subscribers save 10 percent on every bag, and you can pause, skip or cancel at any time from your account page.

# Beans and roasts
All our coffee is speciality grade and bought directly from farms in Ethiopia, Colombia, Guatemala and Brazil. The house blend is a medium roast with notes of chocolate and hazelnut. Decaf is available, made with the Swiss Water process, without chemicals.

# Wholesale
Cafés, offices and restaurants can buy wholesale from 5 kg per month. Wholesale customers get barista training and equipment advice. Write to wholesale@parley-coffee.example to ask for the price list.

# Contact
You can reach our team by email at hello@parley-coffee.example or by phone at +1 555 0100 from Monday to Friday, 9:00 to 17:00. For an existing order, please include your order number.`
