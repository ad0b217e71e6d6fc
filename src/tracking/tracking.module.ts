import { Module } from '@nestjs/common';
import { RequestRecordStore } from './request-record.store';

@Module({ providers: [RequestRecordStore], exports: [RequestRecordStore] })
export class TrackingModule {}
