"""Nothing a user sends is dropped: pictures, files, videos, places and links are kept."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import select

from handlers.chat import Event, EventKind
from storage.models import Attachment, Followup, Task, TaskStatus
from tests.core.conftest import SeededTeam

QIMING = "杭州启明科技有限公司"


def _with(event: Event, **changes: object) -> Event:
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]


async def _task(team: SeededTeam, *, asked: bool = False) -> int:
    now = team.clock.now()
    async with team.sessions() as db, db.begin():
        task = Task(
            dedupe_key=f"visit:{now.timestamp()}:{asked}", template_key="satisfaction_visit",
            title="满意度回访", checklist=[], customer_id=team.customers[QIMING],
            assignee_id=team.users["王磊"], push_at=now, accept_by=now + timedelta(days=1),
            due_at=now + timedelta(days=3), status=TaskStatus.ACCEPTED, pushed_at=now,
            evidence_asked_at=now if asked else None, last_activity_at=now, created_at=now,
        )  # fmt: skip
        db.add(task)
        await db.flush()
        return task.id


async def _attachments(team: SeededTeam) -> list[Attachment]:
    async with team.sessions() as db:
        return list((await db.execute(select(Attachment).order_by(Attachment.id))).scalars())


async def test_a_place_becomes_a_check_in_on_the_reps_next_followup(team: SeededTeam) -> None:
    place = _with(
        team.event("王磊", "杭州市西湖区文三路 90 号"),
        kind=EventKind.LOCATION, latitude=30.27, longitude=120.15,
    )  # fmt: skip
    [answer] = await team.send(place)
    team.clock.advance(minutes=40)
    [logged] = await team.send(team.event("王磊", "跟进 启明 现场演示顺利，客户要报价"))
    assert answer.startswith("已记录现场打卡：")
    assert "现场打卡：" in logged
    assert "文三路 90 号" in logged
    [checkin] = await _attachments(team)
    async with team.sessions() as db:
        followup = (await db.execute(select(Followup))).scalar_one()
    assert (checkin.kind, checkin.followup_id, checkin.latitude) == ("location", followup.id, 30.27)


async def test_a_check_in_from_yesterday_is_not_put_on_todays_followup(team: SeededTeam) -> None:
    await team.send(_with(team.event("王磊", "文三路"), kind=EventKind.LOCATION))
    team.clock.advance(hours=13)
    [logged] = await team.send(team.event("王磊", "跟进 启明 电话回访"))
    assert "现场打卡" not in logged
    assert (await _attachments(team))[0].followup_id is None  # kept, just not on this one


async def test_words_and_a_photo_in_one_message_complete_the_task_with_the_photo(
    team: SeededTeam,
) -> None:
    task_id = await _task(team)
    message = _with(team.event("王磊", f"完成 {task_id} 回访记录见图"), media_id="pic-1")
    [answer] = await team.send(message)
    async with team.sessions() as db:
        task = await db.get_one(Task, task_id)
    assert task.status == TaskStatus.DONE
    assert (task.evidence, task.evidence_media_id) == ("回访记录见图", "pic-1")
    [photo] = await _attachments(team)
    assert (photo.kind, photo.task_id, photo.media_id) == ("image", task_id, "pic-1")
    assert str(task_id) in answer


async def test_a_photo_with_a_followup_is_kept_on_that_followup(team: SeededTeam) -> None:
    message = _with(team.event("王磊", "跟进 启明 现场照片如图"), media_id="pic-2")
    [logged] = await team.send(message)
    assert "附件（图片）" in logged
    [photo] = await _attachments(team)
    assert photo.followup_id is not None


async def test_a_file_is_the_evidence_of_the_task_waiting_for_one(team: SeededTeam) -> None:
    task_id = await _task(team, asked=True)
    file = _with(
        team.event("王磊", "回访记录.pdf"), kind=EventKind.FILE, media_id="f-1", media_format="file"
    )
    await team.send(file)
    async with team.sessions() as db:
        task = await db.get_one(Task, task_id)
    assert task.status == TaskStatus.DONE
    assert task.evidence == "（文件凭证：回访记录.pdf）"
    assert (await _attachments(team))[0].task_id == task_id


async def test_a_video_without_a_waiting_task_is_kept_and_answered(team: SeededTeam) -> None:
    video = _with(team.event("王磊", ""), kind=EventKind.FILE, media_id="v-1", media_format="video")
    [answer] = await team.send(video)
    assert answer.startswith("收到视频，已保存")
    assert "完成 <编号>" in answer
    [kept] = await _attachments(team)
    assert (kept.kind, kept.media_id) == ("video", "v-1")


async def test_a_link_is_kept_as_text_and_the_same_message_twice_is_kept_once(
    team: SeededTeam,
) -> None:
    link = _with(
        team.event("王磊", "启明招标公告\nhttps://example.com/bid/42"), kind=EventKind.LINK
    )
    [answer] = await team.send(link)
    await team.send(link)
    [kept] = await _attachments(team)
    assert answer == "已收下链接「启明招标公告」，会记在你的下一条跟进上。"
    assert kept.label == "启明招标公告\nhttps://example.com/bid/42"


async def test_undoing_the_followup_gives_its_check_in_back_for_the_next_one(
    team: SeededTeam,
) -> None:
    await team.send(_with(team.event("王磊", "文三路 90 号"), kind=EventKind.LOCATION))
    await team.send(team.event("王磊", "跟进 启明 现场演示"))
    [undone] = await team.send(team.event("王磊", "撤销"))
    [again] = await team.send(team.event("王磊", "跟进 启明 现场演示顺利，客户要报价"))
    assert "撤销" in undone or "已" in undone
    assert "现场打卡" in again
