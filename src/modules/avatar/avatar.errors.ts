import { HttpStatus } from '@nestjs/common';
import { defineErrors } from '@/common/errors';

export const AvatarErrors = defineErrors({
  AVATAR_MULTIPART_REQUIRED: {
    status: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
    message: { en: 'Send the image as multipart/form-data in the field "file"', 'zh-CN': '请以 multipart/form-data 格式在 file 字段中上传图片' },
  },
  AVATAR_UPLOAD_MALFORMED: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The multipart body is malformed or incomplete', 'zh-CN': 'multipart 请求体格式错误或不完整' },
  },
  AVATAR_FILE_REQUIRED: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'Send exactly one image in the multipart field "file"', 'zh-CN': '请在 file 字段中上传一张图片' },
  },
  AVATAR_TOO_LARGE: {
    status: HttpStatus.PAYLOAD_TOO_LARGE,
    message: { en: 'The image file is too large', 'zh-CN': '图片文件过大' },
  },
  AVATAR_UNSUPPORTED_TYPE: {
    status: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
    message: { en: 'Only JPEG, PNG, WebP and GIF images are accepted', 'zh-CN': '仅支持 JPEG、PNG、WebP 和 GIF 图片' },
  },
  AVATAR_IMAGE_INVALID: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The image is damaged or cannot be decoded', 'zh-CN': '图片已损坏或无法解码' },
  },
  AVATAR_TOO_SMALL: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The image must be at least 32×32 pixels', 'zh-CN': '图片尺寸至少为 32×32 像素' },
  },
  AVATAR_TOO_MANY_PIXELS: {
    status: HttpStatus.BAD_REQUEST,
    message: { en: 'The image has too many pixels', 'zh-CN': '图片像素数过多' },
  },
  AVATAR_NOT_FOUND: {
    status: HttpStatus.NOT_FOUND,
    message: { en: 'Avatar not found', 'zh-CN': '头像不存在' },
  },
});
