"""Deletes a room through the server API (livekit-api RoomService.DeleteRoom), from inside the namespace."""

from __future__ import annotations

import argparse
import asyncio
import json

from livekit import api


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--room", required=True)
    args = parser.parse_args()
    async with api.LiveKitAPI(args.url) as lkapi:  # key and secret from LIVEKIT_API_KEY/SECRET
        await lkapi.room.delete_room(api.DeleteRoomRequest(room=args.room))
    print(json.dumps({"deleted": args.room}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
