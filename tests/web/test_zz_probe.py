async def test_probe(client, place):
    r = await client.get(f"/api/v1/challenges?municipality={place.code}&limit=200")
    print("STATUS", r.status_code, r.text[:300])
